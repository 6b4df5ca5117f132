/**
 * Starts a bundled CLI through V8's code cache. Node spends a third of a CLI's start-up compiling its
 * bundle (0.94 MB of minified JavaScript); with the bytecode cached from an earlier run, that step mostly
 * goes. The cache lives in the user's cache directory (`$XDG_CACHE_HOME` or `~/.cache`,
 * `oci-ratls-client/`), one file per bundle and Node version, written once by a run that had none (half a
 * second in, or at its exit if sooner). V8 checks that a cache matches the source and itself and ignores it
 * otherwise; a cache file that another user could have written is not read. Writing a bundle's cache
 * removes the files of its earlier builds (and other Node versions). Set `OCI_CLIENT_COMPILE_CACHE=off` to
 * do without. This module imports nothing but Node's own modules, so that it costs nothing to load.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as vm from "node:vm"

const cacheDirectory = (): string | undefined => {
  if (process.env["OCI_CLIENT_COMPILE_CACHE"] === "off") return undefined
  const base = process.env["XDG_CACHE_HOME"] || (os.homedir() ? path.join(os.homedir(), ".cache") : undefined)
  return base === undefined ? undefined : path.join(base, "oci-ratls-client")
}

// Only a file this user owns, that nobody else may write, is trusted to hold bytecode.
const readTrusted = (file: string): Buffer | undefined => {
  try {
    const stat = fs.statSync(file)
    if (!stat.isFile() || (process.getuid !== undefined && stat.uid !== process.getuid()) || (stat.mode & 0o022) !== 0) {
      return undefined
    }
    return fs.readFileSync(file)
  } catch {
    return undefined
  }
}

// Writes `file`, and removes the caches of the same bundle that `file` replaces (`stale` says which).
const writeAtomically = (dir: string, file: string, data: Buffer, stale: (name: string) => boolean) => {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    const temporary = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temporary, data, { mode: 0o600 })
    fs.renameSync(temporary, file)
    for (const name of fs.readdirSync(dir)) {
      if (stale(name) && path.join(dir, name) !== file) fs.rmSync(path.join(dir, name), { force: true })
    }
  } catch {
    // A cache is an optimisation: a read-only or missing home directory just means no cache.
  }
}

const cacheDelayMillis = 500

/** Runs the CommonJS bundle `bundle` (a file URL) as the program, with its bytecode cached. */
export const runBundle = (bundle: URL): void => {
  const file = fileURLToPath(bundle)
  const source = fs.readFileSync(file, "utf8")
  const dir = cacheDirectory()
  const stat = fs.statSync(file)
  const cacheFile = dir === undefined
    ? undefined
    : path.join(dir, `${path.basename(file)}-${process.version}-${process.arch}-${stat.size}-${Math.trunc(stat.mtimeMs)}.v8cache`)
  const cachedData = cacheFile === undefined ? undefined : readTrusted(cacheFile)
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData })
  })
  if (dir !== undefined && cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    const prefix = `${path.basename(file)}-v`
    const stale = (name: string) => name.startsWith(prefix) && name.endsWith(".v8cache")
    // When the cache is made matters. V8 drops the bytecode of functions that have not run for a few major
    // collections, and the start-up code (the bundle's top level, the modules' initialisers) runs once: in a
    // cache made at the end of a long run it is missing, and every later run parses the whole bundle again
    // (150 ms here). Made half a second in, the cache has the start-up code and what the first requests
    // compiled; a shorter run makes it at exit.
    let made = false
    const make = () => {
      if (made) return
      made = true
      writeAtomically(dir, cacheFile, script.createCachedData(), stale)
    }
    setTimeout(make, cacheDelayMillis).unref()
    process.once("exit", make)
  }
  const main = script.runInThisContext() as (...args: ReadonlyArray<unknown>) => void
  const module = { exports: {} }
  main.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file))
}
