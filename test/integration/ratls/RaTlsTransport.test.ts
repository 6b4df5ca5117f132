import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as crypto from "node:crypto"
import * as net from "node:net"
import * as path from "node:path"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"
import { realmChallengeFor } from "../../../src/domain/cca/CcaVerification.js"
import * as SoftwareAttester from "../../../src/domain/cca/SoftwareAttester.js"
import * as Config from "../../../src/domain/Config.js"
import * as Client from "../../../src/services/Client/Client.js"
import * as RaTlsCertResolver from "../../../src/services/RaTlsCredentials/RaTlsCertResolver.js"
import { RegistryApi } from "../../../src/services/RegistryApi/RegistryApi.js"
import * as TokenResolver from "../../../src/services/TokenResolver/TokenResolver.js"
import * as Islet from "../../unit/cca/IsletVectors.js"
import { makeRootCa } from "../../unit/tls13/TestPki.js"
import { type RaTlsRegistry, raTlsRegistry } from "./RaTlsRegistry.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

/** A resolver that passes the question on and keeps every question and answer. */
const recording = (inner: TokenResolver.TokenResolver["Type"]) => {
  const answers: Array<{ readonly realmChallenge: Uint8Array; readonly token: Uint8Array }> = []
  const resolver = TokenResolver.make((realmChallenge) =>
    Effect.tap(inner.resolve(realmChallenge), (token) => Effect.sync(() => answers.push({ realmChallenge, token }))))
  return { answers, resolver }
}

const listTags = (registry: RaTlsRegistry, resolver: TokenResolver.TokenResolver["Type"], rootPem = registry.rootPem) =>
  Effect.flatMap(RegistryApi, (api) => api.listTags("app", {})).pipe(
    Effect.provide(Client.registryLayer(Config.builder().host(registry.host).connectTimeout("10 seconds").raTls(rootPem, RaTlsCertResolver.fromTokenResolver(resolver))))
  )

/**
 * A loopback relay that forwards the handshake but nothing the server sends after the client's second
 * flight, and resets the client's connection when the server closes: the reset overtakes the server's alert.
 */
const resettingRelay = (target: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly host: string; readonly server: net.Server }>((resume) => {
      const [targetHost, targetPort] = target.split(":") as [string, string]
      const server = net.createServer((client) => {
        const upstream = net.connect({ host: targetHost, port: Number(targetPort) })
        let fromClient = 0
        let helloLength = Number.POSITIVE_INFINITY
        client.on("data", (chunk: Buffer) => {
          if (fromClient === 0) helloLength = 5 + chunk.readUInt16BE(3)
          fromClient += chunk.length
          upstream.write(chunk)
        })
        upstream.on("data", (chunk: Buffer) => {
          if (fromClient <= helloLength) client.write(chunk)
        })
        upstream.on("close", () => client.resetAndDestroy())
        client.on("error", () => upstream.destroy())
        upstream.on("error", () => undefined)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, server })))
    }),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

const failureOf = <A, E extends Error & { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.flip(effect), (error) => ({ tag: error._tag, code: (error as { code?: string }).code, message: error.message }))

describe("RA-TLS transport against the project's TLS 1.3 server", () => {
  it.scopedLive("lists tags over RA-TLS; the server sees exactly the resolver's token, bound to its challenge and the client key", () =>
    Effect.gen(function* () {
      const attester = SoftwareAttester.make()
      const registry = yield* raTlsRegistry({ platformKey: attester.platformPublicKey, referenceValues: attester.referenceValues })
      const { answers, resolver } = recording(TokenResolver.fromSoftwareAttester(attester))
      const page = yield* listTags(registry, resolver)
      expect(page.tags).toEqual(["latest", "v1", "v2"])
      expect(registry.seen.map((client) => client.rejection)).toEqual([undefined])
      const [client] = registry.seen
      const spki = new crypto.X509Certificate(client!.certificateDer).publicKey.export({ type: "spki", format: "der" })
      const tokenInCertificate = new Uint8Array(new x509.X509Certificate(client!.certificateDer).getExtension("1.3.3.3.7")!.value)
      expect(answers.map((answer) => hex(answer.token))).toEqual([hex(tokenInCertificate)])
      expect(hex(answers[0]!.realmChallenge)).toBe(hex(realmChallengeFor(client!.challenge, spki)))
      const claims = Either.getOrThrow(CcaToken.decode(tokenInCertificate)).realm.claims
      expect(hex(claims.challenge)).toBe(hex(realmChallengeFor(client!.challenge, spki)))
    }))

  it.scopedLive("keeps the attested connection alive: three requests, one handshake, one token", () =>
    Effect.gen(function* () {
      const registry = yield* raTlsRegistry()
      const { answers, resolver } = recording(TokenResolver.fromSoftwareAttester(SoftwareAttester.make()))
      const tags = yield* Effect.flatMap(RegistryApi, (api) =>
        Effect.forEach([1, 2, 3], () => Effect.map(api.listTags("app", {}), (page) => page.tags.length))).pipe(
        Effect.provide(Client.registryLayer(Config.builder().host(registry.host).raTls(registry.rootPem, RaTlsCertResolver.fromTokenResolver(resolver))))
      )
      expect(tags).toEqual([3, 3, 3])
      expect(registry.requests).toHaveLength(3)
      expect(registry.connections()).toBe(1)
      expect(answers).toHaveLength(1)
    }))

  it.scopedLive("a server that closes TCP without close_notify after each complete response still serves every request", () =>
    Effect.gen(function* () {
      const registry = yield* raTlsRegistry({ closeWithoutNotify: true })
      const resolver = TokenResolver.fromSoftwareAttester(SoftwareAttester.make())
      const tags = yield* Effect.flatMap(RegistryApi, (api) =>
        Effect.forEach([1, 2, 3], () => Effect.map(api.listTags("app", {}), (page) => page.tags.length))).pipe(
        Effect.provide(Client.registryLayer(Config.builder().host(registry.host).raTls(registry.rootPem, RaTlsCertResolver.fromTokenResolver(resolver))))
      )
      expect(tags).toEqual([3, 3, 3])
      // Each request after the first found its kept-alive connection dropped and was retried on a new one.
      expect(registry.connections()).toBe(3)
    }))

  it.scopedLive("a request naming two authorities fails early as RaTlsChallengeAmbiguous and no certificate is sent", () =>
    Effect.gen(function* () {
      const registry = yield* raTlsRegistry({ authorities: 2 })
      const failure = yield* failureOf(listTags(registry, TokenResolver.fromSoftwareAttester(SoftwareAttester.make())))
      expect(failure).toMatchObject({ tag: "TlsError", code: "RaTlsChallengeAmbiguous" })
      expect(failure.message).toContain("carries 2 certificate_authorities entries")
      expect(registry.seen).toEqual([])
    }))

  it.scopedLive("a request naming no authority fails early as RaTlsChallengeMissing", () =>
    Effect.gen(function* () {
      const registry = yield* raTlsRegistry({ authorities: 0 })
      const failure = yield* failureOf(listTags(registry, TokenResolver.fromSoftwareAttester(SoftwareAttester.make())))
      expect(failure).toMatchObject({ tag: "TlsError", code: "RaTlsChallengeMissing" })
      expect(registry.seen).toEqual([])
    }))

  it.scopedLive("a failing token command ends the handshake with its stderr in the error", () =>
    Effect.gen(function* () {
      const registry = yield* raTlsRegistry()
      const resolver = TokenResolver.fromCommand(process.execPath, ["-e", "console.error('RSI unavailable'); process.exit(4)"])
      const failure = yield* failureOf(listTags(registry, resolver))
      expect(failure).toMatchObject({ tag: "TlsError", code: "TokenCommandFailed" })
      expect(failure.message).toContain("RSI unavailable")
    }))

  it.scopedLive("a server certificate from another root fails as UntrustedRoot before any token is made", () =>
    Effect.gen(function* () {
      const registry = yield* raTlsRegistry()
      const { answers, resolver } = recording(TokenResolver.fromSoftwareAttester(SoftwareAttester.make()))
      const otherRoot = yield* Effect.promise(() => makeRootCa("Other Root"))
      const failure = yield* failureOf(listTags(registry, resolver, otherRoot.certificatePem))
      expect(failure).toMatchObject({ tag: "TlsError", code: "UntrustedRoot" })
      expect(registry.seen).toEqual([])
      expect(answers).toEqual([])
    }))

  it.scopedLive("a token that answers another challenge is refused by a server that checks the binding", () =>
    Effect.gen(function* () {
      const registry = yield* raTlsRegistry()
      const attester = SoftwareAttester.make()
      const stale = Either.getOrThrow(attester.attest(new Uint8Array(64)))
      const failure = yield* failureOf(listTags(registry, TokenResolver.make(() => Effect.succeed(stale))))
      expect(failure).toMatchObject({ tag: "TlsError", code: "AlertReceived" })
      expect(failure.message).toContain("access_denied")
      expect(registry.seen.map((client) => client.rejection)).toEqual([expect.stringContaining("realm challenge check failed")])
    }))

  it.scopedLive("a reset instead of the server's alert after the attested handshake is reported as a likely refusal", () =>
    Effect.gen(function* () {
      const registry = yield* raTlsRegistry()
      const relay = yield* resettingRelay(registry.host)
      const stale = Either.getOrThrow(SoftwareAttester.make().attest(new Uint8Array(64)))
      const failure = yield* failureOf(listTags({ ...registry, host: relay.host }, TokenResolver.make(() => Effect.succeed(stale))))
      expect(failure).toMatchObject({ tag: "TlsError", code: "ECONNRESET" })
      expect(failure.message).toContain("most likely refused the client's attestation")
      expect(registry.seen.map((client) => client.rejection)).toEqual([expect.stringContaining("realm challenge check failed")])
    }))

  it.scopedLive.skipIf(Islet.missing)(
    `the seed's fixed token file (Islet client-token.bin) is accepted by a server that skips the binding ${Islet.requirement}`,
    () =>
      Effect.gen(function* () {
        const registry = yield* raTlsRegistry({ checkBinding: false })
        const page = yield* listTags(registry, TokenResolver.fromFile(path.join(Islet.directory, "client-token.bin")))
        expect(page.tags).toEqual(["latest", "v1", "v2"])
        expect(registry.seen.map((client) => client.rejection)).toEqual([undefined])
      })
  )
})
