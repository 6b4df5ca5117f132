// Bundles each CLI entry point into one file in place. Node spends most of a CLI's start-up resolving and
// loading hundreds of small ESM modules; one bundled file starts about three times faster. The library
// build (dist/*.js with declarations) is left as tsc wrote it.
import { build } from "esbuild"
import { chmodSync, rmSync } from "node:fs"

for (const name of ["client", "get-image"]) {
  const file = `dist/cli/${name}.js`
  await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // A map of the whole bundle weighs 10 MB; the library's own modules keep theirs.
    sourcemap: false,
    // cbor-x loads its optional native accelerator with require(); keep it a runtime lookup.
    external: ["cbor-extract"],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: "warning"
  })
  rmSync(`${file}.map`, { force: true })
  chmodSync(file, 0o755)
}
