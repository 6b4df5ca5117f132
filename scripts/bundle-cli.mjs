// Bundles each CLI into one CommonJS file (dist/cli/<name>.cjs) and replaces the entry point tsc wrote
// (dist/cli/<name>.js, the package's bin) with a few lines that run the bundle through V8's code cache
// (src/cli/CompileCache.ts). Node spends most of a CLI's start-up resolving and loading hundreds of small
// ESM modules, then compiling them: one bundle starts about three times faster, and its cached bytecode
// saves a third of what is left. The library build (dist/*.js with declarations) is left as tsc wrote it.
import { build } from "esbuild"
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs"

// @effect/cli can parse option values from YAML, TOML and INI files (Options.fileParse and kin), which
// neither CLI offers; their parsers would still load and initialise at every start-up (165 KB of the
// bundle). They are replaced by a stub that refuses such a file.
const withoutConfigFileParsers = {
  name: "without-config-file-parsers",
  setup(build) {
    build.onResolve({ filter: /^(yaml|toml|ini)$/ }, (args) => ({ path: args.path, namespace: "unsupported" }))
    build.onLoad({ filter: /.*/, namespace: "unsupported" }, (args) => ({
      contents: `export const parse = () => { throw new Error("${args.path} files are not supported by this command") }`,
      loader: "js"
    }))
  }
}

for (const name of ["client", "get-image"]) {
  const entry = `dist/cli/${name}.js`
  const bundle = `dist/cli/${name}.cjs`
  await build({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    // A map of the whole bundle weighs 10 MB; the library's own modules keep theirs.
    sourcemap: false,
    // Minified, the bundle is 1.1 MB instead of 2.4 MB (0.94 MB without the parsers above): start-up
    // reads, hashes and deserializes less (`--version`: 0.41 s -> 0.36 s). Names are kept for the stack
    // traces of defects.
    minify: true,
    keepNames: true,
    plugins: [withoutConfigFileParsers],
    // cbor-x loads its optional native accelerator with require(); keep it a runtime lookup.
    external: ["cbor-extract"],
    // The sources find package.json from import.meta.url, which CommonJS spells differently.
    define: { "import.meta.url": "__moduleUrl" },
    banner: { js: "var __moduleUrl = require(\"node:url\").pathToFileURL(__filename).href;" },
    logLevel: "warning"
  })
  // The bundle runs inside a function wrapper, where a `#!` line is a syntax error.
  writeFileSync(bundle, readFileSync(bundle, "utf8").replace(/^#![^\n]*\n/, ""))
  writeFileSync(entry, `#!/usr/bin/env node
// The \`${name}\` command: runs ${name}.cjs, the bundle of src/cli/${name}.ts (see scripts/bundle-cli.mjs).
import { runBundle } from "./CompileCache.js"

runBundle(new URL("./${name}.cjs", import.meta.url))
`)
  rmSync(`${entry}.map`, { force: true })
  chmodSync(entry, 0o755)
}
