/**
 * Runs the built binaries (dist/cli) as a user would, capturing stdout as bytes, stderr as text and the
 * exit code. `npm test` builds first; running vitest alone needs `npm run build` once.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

export interface CliResult {
  readonly code: number | null
  readonly stdout: Buffer
  readonly stderr: string
}

export const runCli = (binary: "client" | "get-image", args: ReadonlyArray<string>, options: { cwd?: string } = {}) =>
  Effect.async<CliResult>((resume) => {
    const script = path.join(repoRoot, "dist", "cli", `${binary}.js`)
    if (!existsSync(script)) {
      resume(Effect.die(new Error(`${script} is missing: run "npm run build" before these tests`)))
      return
    }
    const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd ?? repoRoot, stdio: ["ignore", "pipe", "pipe"] })
    const out: Array<Buffer> = []
    let err = ""
    child.stdout.on("data", (c: Buffer) => out.push(c))
    child.stderr.on("data", (c: Buffer) => (err += c.toString()))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout: Buffer.concat(out), stderr: err })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
