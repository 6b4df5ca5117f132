import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Scope } from "effect"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"
import { realmChallengeFor } from "../../../src/domain/cca/CcaVerification.js"
import * as SoftwareAttester from "../../../src/domain/cca/SoftwareAttester.js"
import * as Config from "../../../src/domain/Config.js"
import * as Client from "../../../src/services/Client/Client.js"
import * as RaTlsCredentials from "../../../src/services/RaTlsCredentials/RaTlsCredentials.js"
import { RegistryApi } from "../../../src/services/RegistryApi/RegistryApi.js"
import * as TokenResolver from "../../../src/services/TokenResolver/TokenResolver.js"
import * as Islet from "../../unit/cca/IsletVectors.js"
import { repoRoot, runCli } from "../cli/RunCli.js"
import { buildGoServer, type GoServer, goAvailable, goRaTlsServer, goRequirement } from "./GoRaTlsServer.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const suiteScope = Effect.runSync(Scope.make())
let binary: string
let tokenCommand: string

beforeAll(async () => {
  if (!goAvailable) return
  binary = await Effect.runPromise(Scope.extend(buildGoServer, suiteScope))
  // The CLI takes a program without arguments, so a wrapper runs the TypeScript token command.
  const dir = mkdtempSync(path.join(tmpdir(), "ratls-token-command-"))
  tokenCommand = path.join(dir, "attest")
  const loader = path.join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs")
  const script = path.join(repoRoot, "test", "integration", "ratls", "SoftwareAttestCommand.ts")
  writeFileSync(tokenCommand, `#!/bin/sh\nexec "${process.execPath}" --import "${loader}" "${script}" "$@"\n`)
  chmodSync(tokenCommand, 0o755)
  await Effect.runPromise(Scope.addFinalizer(suiteScope, Effect.sync(() => rmSync(dir, { recursive: true, force: true }))))
}, 180_000)

afterAll(() => Effect.runPromise(Scope.close(suiteScope, Exit.void)))

const registry = (server: GoServer, resolver: TokenResolver.TokenResolver["Type"]) =>
  Client.registryLayer(Config.builder().host(server.host).raTls(server.rootPem, RaTlsCredentials.fromTokenResolver(resolver)))

/** Waits up to two seconds for `done` to hold (the server's event lines come in on their own). */
const eventually = (done: () => boolean) =>
  Effect.gen(function* () {
    for (let waited = 0; waited < 2000 && !done(); waited += 10) yield* Effect.sleep("10 millis")
  })

const certificates = (server: GoServer) => server.events.filter((event) => event.event === "client-certificate")

describe.skipIf(!goAvailable)(`RA-TLS against Go's crypto/tls ${goRequirement}`, () => {
  it.scopedLive("a registry call succeeds and Go sees the resolver's token, bound to its challenge and the certificate key", () =>
    Effect.gen(function* () {
      const server = yield* goRaTlsServer(binary)
      const credentials = yield* RaTlsCredentials.make(TokenResolver.fromSoftwareAttester(SoftwareAttester.make()))
      const page = yield* Effect.flatMap(RegistryApi, (api) => api.listTags("app", {})).pipe(
        Effect.provide(Client.registryLayer(Config.builder().host(server.host).raTls(server.rootPem, credentials)))
      )
      expect(page.tags).toEqual(["latest", "v1", "v2"])
      const [seen] = certificates(server)
      expect(seen?.bound).toBe(true)
      expect(seen?.spki).toBe(hex((yield* credentials.key).spkiDer))
      const expected = realmChallengeFor(Buffer.from(seen!.challenge!, "hex"), Buffer.from(seen!.spki!, "hex"))
      expect(seen?.realmChallenge).toBe(hex(expected))
      const token = Either.getOrThrow(CcaToken.decode(Buffer.from(seen!.token!, "hex")))
      expect(hex(token.realm.claims.challenge)).toBe(hex(expected))
    }))

  it.scopedLive("keep-alive holds with Go: two requests share one attested handshake", () =>
    Effect.gen(function* () {
      const server = yield* goRaTlsServer(binary)
      yield* Effect.flatMap(RegistryApi, (api) => Effect.zip(api.listTags("app", {}), api.listTags("app", {}))).pipe(
        Effect.provide(registry(server, TokenResolver.fromSoftwareAttester(SoftwareAttester.make())))
      )
      // The server reports each request on its stdout, which may arrive a moment after the answer did.
      yield* eventually(() => server.events.filter((event) => event.event === "request").length >= 2)
      expect(server.events.filter((event) => event.event === "request")).toHaveLength(2)
      expect(certificates(server)).toHaveLength(1)
    }))

  it.scopedLive("Go's two certificate_authorities entries are refused early as RaTlsChallengeAmbiguous", () =>
    Effect.gen(function* () {
      const server = yield* goRaTlsServer(binary, { authorities: 2 })
      const error = yield* Effect.flip(
        Effect.flatMap(RegistryApi, (api) => api.listTags("app", {})).pipe(
          Effect.provide(registry(server, TokenResolver.fromSoftwareAttester(SoftwareAttester.make())))
        )
      )
      expect(error).toMatchObject({ _tag: "TlsError", code: "RaTlsChallengeAmbiguous" })
      expect(certificates(server)).toEqual([])
    }))

  it.scopedLive("the client CLI lists tags through Go with --token-command making a fresh token per handshake", () =>
    Effect.gen(function* () {
      const server = yield* goRaTlsServer(binary)
      const result = yield* runCli("client", [
        "-t", "ra-tls", "-a", server.host, "--root-ca", server.rootPath, "--token-command", tokenCommand,
        "list-tags", "-a", "app"
      ])
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
      expect(JSON.parse(result.stdout.toString())).toEqual({ name: "app", tags: ["latest", "v1", "v2"] })
      expect(certificates(server).map((event) => event.bound)).toEqual([true])
    }))

  it.scopedLive("get-image -t ra-tls attests through Go and gets as far as the registry's answer", () =>
    Effect.gen(function* () {
      const server = yield* goRaTlsServer(binary)
      const scratch = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(path.join(tmpdir(), "ratls-get-image-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const dest = path.join(scratch, "image")
      const result = yield* runCli("get-image", [
        "-t", "ra-tls", "-a", server.host, "--root-ca", server.rootPath, "--token-command", tokenCommand,
        "-n", "app", "-r", "v1", "-d", dest
      ])
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("NAME_UNKNOWN")
      yield* eventually(() => server.events.some((event) => event.event === "request"))
      expect(certificates(server).map((event) => event.bound)).toEqual([true])
      expect(server.events.filter((event) => event.event === "request").map((event) => event.path)).toEqual(["/v2/app/manifests/v1"])
    }))

  it.scopedLive.skipIf(Islet.missing)(
    `the client CLI with the seed's fixed --token file passes Go without the binding check and fails with it ${Islet.requirement}`,
    () =>
      Effect.gen(function* () {
        const token = path.join(Islet.directory, "client-token.bin")
        const lenient = yield* goRaTlsServer(binary, { checkBinding: false })
        const args = (server: GoServer) => ["-t", "ra-tls", "-a", server.host, "--root-ca", server.rootPath, "--token", token, "list-tags", "-a", "app"]
        const accepted = yield* runCli("client", args(lenient))
        expect(accepted.code).toBe(0)
        expect(JSON.parse(accepted.stdout.toString()).tags).toEqual(["latest", "v1", "v2"])

        const strict = yield* goRaTlsServer(binary)
        const refused = yield* runCli("client", args(strict))
        expect(refused.code).toBe(1)
        // Go alerts and closes with the request unread; whether its alert or the TCP reset arrives first is a race.
        expect(refused.stderr).toMatch(/(peer sent alert bad_certificate|most likely refused the client's attestation).*\[TlsError\]/)
        expect(strict.events.filter((event) => event.event === "rejected").map((event) => event.error)).toEqual([
          "the token does not carry SHA-512(challenge || SPKI)"
        ])
      })
  )
})
