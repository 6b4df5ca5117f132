// Access to the Islet project's published test vectors in ../shared/testdata/islet (outside the repo,
// never copied in). Suites that need them skip, with the path in their title, when the folder is absent.
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

export const directory = path.resolve(repoRoot, "../shared/testdata/islet")

export const missing = !fs.existsSync(directory)

/** Appended to suite titles so a skipped run says why. */
export const requirement = `(needs Islet vectors in ${directory})`

export const read = (name: "client-token.bin" | "server-token.bin" | "example.json" | "bad_example.json"): Uint8Array =>
  new Uint8Array(fs.readFileSync(path.join(directory, name)))
