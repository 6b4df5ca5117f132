import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as crypto from "node:crypto"
import { realmChallengeFor } from "../../../src/domain/cca/CcaVerification.js"
import * as RaTlsChallenge from "../../../src/services/RaTlsCredentials/RaTlsChallenge.js"
import * as RaTlsCredentials from "../../../src/services/RaTlsCredentials/RaTlsCredentials.js"
import type { ClientCertificateRequest } from "../../../src/services/Tls13/handshake/client/ClientConfig.js"
import * as TokenResolver from "../../../src/services/TokenResolver/TokenResolver.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const requestWith = (certificateAuthorities: ReadonlyArray<Uint8Array>): ClientCertificateRequest => ({
  certificateAuthorities,
  signatureAlgorithms: [0x0804],
  context: new Uint8Array(0)
})

/** A resolver that answers `token:<realm challenge hex>` and records what it was asked. */
const recordingResolver = () => {
  const asked: Array<Uint8Array> = []
  const resolver = TokenResolver.make((realmChallenge) =>
    Effect.sync(() => {
      asked.push(realmChallenge)
      return new Uint8Array(Buffer.from(`token:${hex(realmChallenge)}`))
    }))
  return { asked, resolver }
}

const tokenOf = (certificateDer: Uint8Array) => {
  const extension = new x509.X509Certificate(certificateDer).getExtension("1.3.3.3.7")
  return extension === null ? undefined : Buffer.from(extension.value).toString()
}

describe("RA-TLS credentials", () => {
  it.effect("answer a challenge with a token resolved for SHA-512(challenge || own SPKI)", () =>
    Effect.gen(function* () {
      const { asked, resolver } = recordingResolver()
      const credentials = yield* RaTlsCredentials.make(resolver)
      const challenge = new Uint8Array(crypto.randomBytes(64))
      const credential = yield* credentials.credentialFor(requestWith([RaTlsChallenge.encode(challenge)]))
      const certificate = new crypto.X509Certificate(credential.chainDer[0]!)
      const spki = new Uint8Array(certificate.publicKey.export({ type: "spki", format: "der" }))
      expect(asked.map(hex)).toEqual([hex(realmChallengeFor(challenge, spki))])
      expect(tokenOf(credential.chainDer[0]!)).toBe(`token:${hex(realmChallengeFor(challenge, spki))}`)
      expect(certificate.checkPrivateKey(credential.privateKey)).toBe(true)
    }))

  it.effect("use one RSA-2048 key for every handshake, made on first use", () =>
    Effect.gen(function* () {
      const credentials = RaTlsCredentials.fromTokenResolver(recordingResolver().resolver)
      const request = () => requestWith([RaTlsChallenge.encode(new Uint8Array(crypto.randomBytes(64)))])
      const first = yield* credentials.credentialFor(request())
      const second = yield* credentials.credentialFor(request())
      const spkiOf = (der: Uint8Array) => hex(new crypto.X509Certificate(der).publicKey.export({ type: "spki", format: "der" }))
      expect(spkiOf(first.chainDer[0]!)).toBe(spkiOf(second.chainDer[0]!))
      expect(spkiOf(first.chainDer[0]!)).toBe(hex((yield* credentials.key).spkiDer))
      expect(first.privateKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048 })
      expect(hex(first.chainDer[0]!)).not.toBe(hex(second.chainDer[0]!))
    }))

  it("as the engine's callback, reject with the RA-TLS error itself and ask no token when the challenge is missing", async () => {
    const { asked, resolver } = recordingResolver()
    const credentials = RaTlsCredentials.fromTokenResolver(resolver)
    const failure = await credentials.clientCertificate(requestWith([])).catch((error: unknown) => error)
    expect(failure).toMatchObject({ _tag: "RaTlsChallengeMissing" })
    expect(String(failure)).toContain("no RA-TLS challenge")
    expect(asked).toEqual([])
  })

  it("as the engine's callback, reject with the resolver's error when no token comes", async () => {
    const credentials = RaTlsCredentials.fromTokenResolver(TokenResolver.fromFile("/nonexistent/token.bin"))
    const failure = await credentials
      .clientCertificate(requestWith([RaTlsChallenge.encode(new Uint8Array(64))]))
      .catch((error: unknown) => error)
    expect(failure).toMatchObject({ _tag: "TokenFileUnreadable", path: "/nonexistent/token.bin" })
  })

  it.effect("use a key of the caller's when given one", () =>
    Effect.gen(function* () {
      const key = RaTlsCredentials.keyFrom(crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey)
      const credentials = RaTlsCredentials.fromTokenResolver(recordingResolver().resolver, key)
      const credential = yield* credentials.credentialFor(requestWith([RaTlsChallenge.encode(new Uint8Array(64))]))
      expect(credential.privateKey).toBe(key.privateKey)
    }))

  it("refuse a key that is not RSA", () => {
    const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey
    expect(() => RaTlsCredentials.keyFrom(ec)).toThrow(/RSA/)
  })
})
