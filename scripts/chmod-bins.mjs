// Makes the CLI entry points executable after tsc emits them (tsc drops the mode).
import { chmodSync, existsSync } from "node:fs"
for (const bin of ["dist/cli/client.js", "dist/cli/get-image.js"]) {
  if (existsSync(bin)) chmodSync(bin, 0o755)
}
