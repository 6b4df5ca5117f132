// `npm run bench` (after the build): runs bench/Bench.ts under tsx, since the registry fixture it uses is
// TypeScript; arguments pass through (`npm run bench -- --profile --runs 5 --only unpack`).
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const child = spawn(process.execPath, ["--import", "tsx", "bench/Bench.ts", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit"
})
child.once("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)))
