/**
 * `npm run demo`: starts the embedded registry on a free loopback port serving res/images, runs the
 * `get-image` binary against it as a user would, shows what was unpacked, and stops the registry.
 */
import { Effect, Logger, LogLevel } from "effect"
import { spawn } from "node:child_process"
import { lstat, mkdtemp, readdir, readlink, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { startLayoutRegistry } from "../test/registry-fixture/LayoutRegistry.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const appName = "com.example.hello"
const reference = "latest"

const run = (command: string, args: ReadonlyArray<string>) =>
  Effect.async<number>((resume) => {
    const child = spawn(command, args, { stdio: "inherit" })
    child.on("close", (code) => resume(Effect.succeed(code ?? 1)))
    return Effect.sync(() => child.kill())
  })

const listTree = (dir: string, prefix = ""): Effect.Effect<ReadonlyArray<string>> =>
  Effect.promise(async () => {
    const lines: Array<string> = []
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name)
      const stat = await lstat(full)
      const mode = (stat.mode & 0o7777).toString(8).padStart(4, "0")
      if (stat.isDirectory()) {
        lines.push(`${mode}  ${prefix}${name}/`)
        lines.push(...(await Effect.runPromise(listTree(full, `${prefix}${name}/`))))
      } else if (stat.isSymbolicLink()) {
        lines.push(`${mode}  ${prefix}${name} -> ${await readlink(full)}`)
      } else {
        lines.push(`${mode}  ${prefix}${name} (${stat.size} bytes)`)
      }
    }
    return lines
  })

const program = Effect.gen(function* () {
  const registry = yield* startLayoutRegistry({ root: path.join(root, "res", "images"), mode: "no-tls" })
  const work = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(path.join(tmpdir(), "oci-demo-"))),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )
  const dest = path.join(work, "hello")
  console.log(`embedded registry serving res/images on http://${registry.host}\n`)
  console.log(`$ get-image -a ${registry.host} -n ${appName} -r ${reference} -d ${dest}`)
  const code = yield* run(process.execPath, [
    path.join(root, "dist", "cli", "get-image.js"),
    "--log-level", "warning", "-a", registry.host, "-n", appName, "-r", reference, "-d", dest
  ])
  if (code !== 0) return yield* Effect.fail(new Error(`get-image exited with ${code}`))
  console.log(`\nunpacked tree of ${dest}:`)
  for (const line of yield* listTree(dest)) console.log(`  ${line}`)
}).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning))

Effect.runPromise(program).catch((error) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
