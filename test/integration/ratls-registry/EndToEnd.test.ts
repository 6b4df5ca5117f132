import { expect, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer, Logger, LogLevel } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as SoftwareAttester from "../../../src/domain/cca/SoftwareAttester.js"
import * as Config from "../../../src/domain/Config.js"
import * as Client from "../../../src/services/Client/Client.js"
import * as RaTlsCertResolver from "../../../src/services/RaTlsCredentials/RaTlsCertResolver.js"
import * as TokenResolver from "../../../src/services/TokenResolver/TokenResolver.js"
import { buildImage, buildLayer, type BuiltImage, Entry } from "../../registry-fixture/ImageBuilder.js"
import { type RunningLayoutRegistry, startLayoutRegistry } from "../../registry-fixture/LayoutRegistry.js"
import { writeOciLayout } from "../../registry-fixture/OciLayout.js"
import * as RaTlsPolicy from "../../registry-fixture/RaTlsPolicy.js"
import { repoRoot, runCli } from "../cli/RunCli.js"

// NOT hardware-backed: the software attester stands in for a CCA realm. Its default realm measurements are
// the same in every process, so one attester's reference values also admit the token command's tokens.
const attester = SoftwareAttester.make()
const staticToken = Either.getOrThrow(attester.attest(new Uint8Array(64).fill(0x5a)))

// The registry logs every request at Info; these tests read its records instead.
const quiet = Logger.minimumLogLevel(LogLevel.Warning)

interface Workspace {
  readonly dir: string
  readonly root: string
  readonly app: BuiltImage
  /** A `--token-command` program: a fresh software-attester token per realm challenge. */
  readonly tokenCommand: string
  /** A token file made once for a fixed challenge, like the seed's token.bin. */
  readonly tokenFile: string
}

class Work extends Context.Tag("test/RaTlsEndToEnd")<Work, Workspace>() {}

const workspace = Layer.scoped(
  Work,
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "ratls-end-to-end-"))),
      (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
    )
    const root = path.join(dir, "layouts")
    const base = yield* buildLayer([Entry.directory("etc"), Entry.file("etc/motd", "attested hello\n")])
    const data = yield* buildLayer([Entry.directory("srv"), Entry.file("srv/data.txt", "only for attested realms\n")])
    const app = buildImage({ layers: [base, data] })
    yield* writeOciLayout(path.join(root, "app"), [{ manifest: app, tags: ["latest", "v1"] }])
    // The CLI runs a program without arguments, so a wrapper hands the script to this Node.
    const tokenCommand = path.join(dir, "attest")
    const script = path.join(repoRoot, "test", "integration", "ratls-registry", "attester-token-command.mjs")
    yield* Effect.promise(() =>
      fs.writeFile(tokenCommand, `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`, { mode: 0o755 })
    )
    const tokenFile = path.join(dir, "token.bin")
    yield* Effect.promise(() => fs.writeFile(tokenFile, staticToken))
    return { dir, root, app, tokenCommand, tokenFile }
  })
)

const start = (policy: RaTlsPolicy.Policy) =>
  Effect.flatMap(Work, ({ root }) => startLayoutRegistry({ root, mode: "ra-tls", raTls: { policy } }))

const freshDir = (name: string) =>
  Effect.flatMap(Work, ({ dir }) => Effect.promise(() => fs.mkdtemp(path.join(dir, `${name}-`))))

const writeCa = (registry: RunningLayoutRegistry) =>
  Effect.gen(function*() {
    const caFile = path.join(yield* freshDir("ca"), "root-ca.crt")
    yield* Effect.promise(() => fs.writeFile(caFile, registry.caPem!))
    return caFile
  })

const clientOver = (registry: RunningLayoutRegistry, resolver: TokenResolver.TokenResolver["Type"]) =>
  Client.fromConfig(
    Config.builder().host(registry.host).raTls(registry.caPem!, RaTlsCertResolver.fromTokenResolver(resolver))
  )

const strictAdmittingTheAttester = RaTlsPolicy.strict({ referenceValues: attester.referenceValues })

layer(Layer.merge(workspace, quiet), { timeout: "120 seconds", excludeTestServices: true })(
  "pulling over RA-TLS from the layout registry",
  (it) => {
    it.scoped("the client gets image info and unpacks it with fresh attester tokens under the strict policy", () =>
      Effect.gen(function*() {
        const { app } = yield* Work
        const registry = yield* start(
          RaTlsPolicy.strict({ platformKey: attester.platformPublicKey, referenceValues: attester.referenceValues })
        )
        const client = yield* clientOver(registry, TokenResolver.fromSoftwareAttester(attester))
        const info = yield* client.getImageInfo("app", "latest")
        expect(info.digest).toBe(app.digest)
        const dest = path.join(yield* freshDir("unpack"), "rootfs")
        yield* client.unpackImage(info, dest)
        expect(yield* Effect.promise(() => fs.readFile(path.join(dest, "srv", "data.txt"), "utf8"))).toBe(
          "only for attested realms\n"
        )
        expect(registry.rejectedClients()).toEqual([])
        const accepted = registry.acceptedClients()
        expect(accepted.length).toBeGreaterThan(0)
        expect(accepted.every((client) => client.checked.includes("realm-challenge"))).toBe(true)
      }))

    it.scoped("the client with a static token is refused under the strict policy with a TLS error", () =>
      Effect.gen(function*() {
        const registry = yield* start(strictAdmittingTheAttester)
        const client = yield* clientOver(registry, TokenResolver.make(() => Effect.succeed(staticToken)))
        const error = yield* Effect.flip(client.getImageInfo("app", "latest"))
        expect(error._tag).toBe("TlsError")
        expect(registry.rejectedClients().map((client) => client.rejection._tag)).toEqual(["RealmChallengeMismatch"])
        expect(registry.requests()).toEqual([])
      }))

    it.scoped("get-image -t ra-tls with a --token-command unpacks the image under the strict policy", () =>
      Effect.gen(function*() {
        const { tokenCommand } = yield* Work
        const registry = yield* start(strictAdmittingTheAttester)
        const caFile = yield* writeCa(registry)
        const dest = path.join(yield* freshDir("get-image"), "rootfs")
        const result = yield* runCli("get-image", [
          "-t", "ra-tls", "-a", registry.host, "--root-ca", caFile, "--token-command", tokenCommand,
          "-n", "app", "-r", "latest", "-d", dest
        ])
        expect(result.stderr).not.toContain("error")
        expect(result.code).toBe(0)
        expect(yield* Effect.promise(() => fs.readFile(path.join(dest, "etc", "motd"), "utf8"))).toBe("attested hello\n")
        expect(registry.acceptedClients().length).toBeGreaterThan(0)
        expect(registry.rejectedClients()).toEqual([])
      }))

    it.scoped("client -t ra-tls list-tags with a --token-command prints the tags under the strict policy", () =>
      Effect.gen(function*() {
        const { tokenCommand } = yield* Work
        const registry = yield* start(strictAdmittingTheAttester)
        const caFile = yield* writeCa(registry)
        const result = yield* runCli("client", [
          "-t", "ra-tls", "-a", registry.host, "--root-ca", caFile, "--token-command", tokenCommand,
          "list-tags", "-a", "app"
        ])
        expect(result.code).toBe(0)
        expect(JSON.parse(result.stdout.toString())).toEqual({ name: "app", tags: ["latest", "v1"] })
      }))

    it.scoped("client -t ra-tls list-tags with a static --token passes the lenient policy", () =>
      Effect.gen(function*() {
        const { tokenFile } = yield* Work
        const registry = yield* start(
          RaTlsPolicy.lenientWithoutChallengeBinding({
            platformKey: attester.platformPublicKey,
            referenceValues: attester.referenceValues
          })
        )
        const caFile = yield* writeCa(registry)
        const result = yield* runCli("client", [
          "-t", "ra-tls", "-a", registry.host, "--root-ca", caFile, "--token", tokenFile, "list-tags", "-a", "app"
        ])
        expect(result.code).toBe(0)
        expect(JSON.parse(result.stdout.toString()).tags).toEqual(["latest", "v1"])
      }))

    it.scoped("client -t ra-tls with a static --token exits 1 under the strict policy, naming a TLS failure", () =>
      Effect.gen(function*() {
        const { tokenFile } = yield* Work
        const registry = yield* start(strictAdmittingTheAttester)
        const caFile = yield* writeCa(registry)
        const result = yield* runCli("client", [
          "-t", "ra-tls", "-a", registry.host, "--root-ca", caFile, "--token", tokenFile, "list-tags", "-a", "app"
        ])
        expect(result.code).toBe(1)
        expect(result.stdout.length).toBe(0)
        expect(result.stderr).toContain("TlsError")
        expect(registry.rejectedClients().map((client) => client.rejection._tag)).toEqual(["RealmChallengeMismatch"])
      }))
  }
)
