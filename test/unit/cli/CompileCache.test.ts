// The CLI bundles start through V8's code cache (src/cli/CompileCache.ts, built to dist/cli): the first run
// writes the cache into the user's cache directory (half a second in, or at exit if sooner), later runs use
// it without writing it again, a new build
// replaces the old build's cache file, a cache file that another user could have written is not read (and
// is replaced), and the cache can be turned off.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describe, expect, it } from "vitest"

const loader = fileURLToPath(new URL("../../../dist/cli/CompileCache.js", import.meta.url))

const setUp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compile-cache-"))
  const bundle = path.join(dir, "program.cjs")
  fs.writeFileSync(
    bundle,
    "const add = (a, b) => a + b\nprocess.stdout.write(JSON.stringify({ sum: add(2, 3), file: __filename, url: typeof require }))\n"
  )
  const cacheHome = path.join(dir, "cache")
  const run = (env: Record<string, string> = {}) =>
    JSON.parse(execFileSync(process.execPath, [
      "--input-type=module",
      "-e",
      `import { runBundle } from ${JSON.stringify(pathToFileURL(loader).href)}; runBundle(new URL(${JSON.stringify(pathToFileURL(bundle).href)}))`
    ], { env: { ...process.env, XDG_CACHE_HOME: cacheHome, OCI_CLIENT_COMPILE_CACHE: "", ...env } }).toString()) as {
      sum: number
      file: string
      url: string
    }
  const cacheFiles = () => {
    const cacheDir = path.join(cacheHome, "oci-ratls-client")
    return fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).map((name) => path.join(cacheDir, name)) : []
  }
  return { bundle, run, cacheFiles }
}

describe.skipIf(!fs.existsSync(loader))("CompileCache.runBundle (needs the build: npm run build)", () => {
  it("runs the bundle as a CommonJS program and writes its cache once, private to the user", () => {
    const { bundle, cacheFiles, run } = setUp()
    expect(run()).toEqual({ sum: 5, file: bundle, url: "function" })
    const [cache] = cacheFiles()
    expect(cache).toMatch(/program\.cjs-v\d+\.\d+\.\d+-.*\.v8cache$/)
    expect(fs.statSync(cache!).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.dirname(cache!)).mode & 0o777).toBe(0o700)
    const written = fs.statSync(cache!).mtimeMs
    expect(run().sum).toBe(5)
    expect(fs.statSync(cache!).mtimeMs).toBe(written)
  })

  it("a long-running program gets its cache half a second in, while it runs", () => {
    const { bundle, cacheFiles, run } = setUp()
    const cacheDir = path.join(path.dirname(bundle), "cache", "oci-ratls-client")
    fs.writeFileSync(
      bundle,
      `const fs = require("node:fs")
const seen = () => fs.existsSync(${JSON.stringify(cacheDir)}) && fs.readdirSync(${JSON.stringify(cacheDir)}).length > 0
const early = seen()
setTimeout(() => process.stdout.write(JSON.stringify({ sum: 5, early, later: seen() })), 1500)
`
    )
    expect(run()).toEqual({ sum: 5, early: false, later: true })
    expect(cacheFiles()).toHaveLength(1)
  })

  it("replaces the cache of an earlier build of the bundle, and leaves other bundles' caches alone", () => {
    const { bundle, cacheFiles, run } = setUp()
    run()
    const [first] = cacheFiles()
    const other = path.join(path.dirname(first!), "other.cjs-v20.0.0-x64-1-1.v8cache")
    fs.writeFileSync(other, "", { mode: 0o600 })
    fs.appendFileSync(bundle, "// a new build\n")
    expect(run().sum).toBe(5)
    const after = cacheFiles()
    expect(after).toHaveLength(2)
    expect(after).toContain(other)
    expect(after).not.toContain(first)
  })

  it("does not read a cache file others may write, and replaces it", () => {
    const { cacheFiles, run } = setUp()
    run()
    const [cache] = cacheFiles()
    // Valid bytecode that V8 would take: only the loader's own check can refuse it, and then it is rewritten.
    fs.chmodSync(cache!, 0o666)
    expect(run().sum).toBe(5)
    expect(fs.statSync(cache!).mode & 0o777).toBe(0o600)
  })

  it("runs without a cache when the cache directory cannot be made", () => {
    const { bundle, cacheFiles, run } = setUp()
    const blocked = path.join(path.dirname(bundle), "a-file")
    fs.writeFileSync(blocked, "")
    expect(run({ XDG_CACHE_HOME: blocked }).sum).toBe(5)
    expect(fs.statSync(blocked).isFile()).toBe(true)
    expect(cacheFiles()).toEqual([])
  })

  it("writes no cache with OCI_CLIENT_COMPILE_CACHE=off", () => {
    const { cacheFiles, run } = setUp()
    expect(run({ OCI_CLIENT_COMPILE_CACHE: "off" }).sum).toBe(5)
    expect(cacheFiles()).toEqual([])
  })
})
