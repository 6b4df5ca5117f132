/**
 * `npm run demo`: starts the embedded registry in RA-TLS mode on a free loopback port serving res/images
 * (strict policy: fresh challenge binding, the demo platform's key, reference measurements), runs the
 * `get-image` binary against it as a user would with the SOFTWARE attester as token command, shows what
 * was unpacked and the claims the registry verified, and stops the registry.
 */
import { Effect, Logger, LogLevel } from "effect"
import { spawn } from "node:child_process"
import { lstat, mkdtemp, readdir, readlink, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { readFileSync } from "node:fs"
import * as SoftwareAttester from "../src/domain/cca/SoftwareAttester.js"
import { startLayoutRegistry } from "../test/registry-fixture/LayoutRegistry.js"
import * as RaTlsPolicy from "../test/registry-fixture/RaTlsPolicy.js"
import { verifiedClaims } from "../test/registry-fixture/RaTlsVerifier.js"
import { attesterKeys } from "./softwareAttesterKeys.js"

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
  const res = path.join(root, "res")
  // The registry trusts exactly the demo attester's platform and measurements.
  const attester = SoftwareAttester.make(attesterKeys(res))
  const policy = RaTlsPolicy.strict({ platformKey: attester.platformPublicKey, referenceValues: attester.referenceValues })
  const registry = yield* startLayoutRegistry({
    root: path.join(res, "images"),
    mode: "ra-tls",
    tls: { certPem: readFileSync(path.join(res, "registry.crt"), "utf8"), keyPem: readFileSync(path.join(res, "registry.key"), "utf8") },
    raTls: { policy }
  })
  const work = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(path.join(tmpdir(), "oci-demo-"))),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )
  const dest = path.join(work, "hello")
  console.log(`embedded registry: res/images over RA-TLS on ${registry.host}`)
  console.log(`  policy: ${RaTlsPolicy.describe(policy)}`)
  console.log(`  tokens: scripts/software-attester.mjs (a SOFTWARE attester: not hardware-backed)\n`)
  const args = [
    "-t", "ra-tls", "-a", registry.host, "--root-ca", "res/root-ca.crt",
    "--token-command", "scripts/software-attester.mjs",
    "-n", appName, "-r", reference, "-d", dest
  ]
  console.log(`$ get-image ${args.join(" ")}`)
  const code = yield* run(process.execPath, [path.join(root, "dist", "cli", "get-image.js"), "--log-level", "warning", ...args])
  if (code !== 0) return yield* Effect.fail(new Error(`get-image exited with ${code}`))
  console.log(`\nunpacked tree of ${dest}:`)
  for (const line of yield* listTree(dest)) console.log(`  ${line}`)
  const accepted = registry.acceptedClients()
  if (accepted.length === 0) return yield* Effect.fail(new Error("the registry accepted no RA-TLS client"))
  const claims = verifiedClaims(accepted[accepted.length - 1]!)
  console.log(`\nthe registry verified ${accepted.length} RA-TLS connection(s); the last token's claims:`)
  console.log(`  checks passed: ${claims.checked.join(", ")}`)
  console.log(JSON.stringify({ realm: claims.realm, platform: claims.platform }, null, 2).replace(/^/gm, "  "))
}).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning))

Effect.runPromise(program).catch((error) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
