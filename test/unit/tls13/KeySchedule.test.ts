import * as crypto from "node:crypto"
import { describe, expect, it } from "vitest"
import { TLS_AES_128_GCM_SHA256 } from "../../../src/services/Tls13/CipherSuite.js"
import * as KeySchedule from "../../../src/services/Tls13/KeySchedule.js"
import { TranscriptHash } from "../../../src/services/Tls13/TranscriptHash.js"
import * as V from "./Rfc8448Vectors.js"

const suite = TLS_AES_128_GCM_SHA256
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

describe("TLS 1.3 key schedule against RFC 8448 section 3", () => {
  it("the early secret without a PSK is the RFC's value", () => {
    expect(hexOf(KeySchedule.earlySecret(suite))).toBe(hexOf(V.earlySecret))
  })

  it("X25519 of the RFC's client private key and server share gives the RFC's shared secret", () => {
    const privateKey = crypto.createPrivateKey({
      key: { kty: "OKP", crv: "X25519", d: V.clientPrivateKey.toString("base64url"), x: V.clientPublicKey.toString("base64url") },
      format: "jwk"
    })
    const publicKey = crypto.createPublicKey({
      key: { kty: "OKP", crv: "X25519", x: V.serverPublicKey.toString("base64url") },
      format: "jwk"
    })
    expect(hexOf(crypto.diffieHellman({ privateKey, publicKey }))).toBe(hexOf(V.sharedSecret))
  })

  it("the handshake secret follows from the early secret and the shared secret", () => {
    expect(hexOf(KeySchedule.handshakeSecret(suite, V.earlySecret, V.sharedSecret))).toBe(hexOf(V.handshakeSecret))
  })

  it("the transcript hash of ClientHello and ServerHello is the RFC's", () => {
    const transcript = new TranscriptHash()
    transcript.add(V.clientHello)
    transcript.add(V.serverHelloRecord.subarray(5))
    transcript.useHash(suite.hash)
    expect(hexOf(transcript.current())).toBe(hexOf(V.helloHash))
  })

  it("handshake traffic secrets derive from the handshake secret and the hello transcript", () => {
    const secrets = KeySchedule.handshakeTrafficSecrets(suite, V.handshakeSecret, V.helloHash)
    expect(hexOf(secrets.client)).toBe(hexOf(V.clientHandshakeTraffic))
    expect(hexOf(secrets.server)).toBe(hexOf(V.serverHandshakeTraffic))
  })

  it("handshake traffic keys and IVs expand from the traffic secrets", () => {
    const server = KeySchedule.trafficKeys(suite, V.serverHandshakeTraffic)
    const client = KeySchedule.trafficKeys(suite, V.clientHandshakeTraffic)
    expect([hexOf(server.key), hexOf(server.iv)]).toEqual([hexOf(V.serverHandshakeKey), hexOf(V.serverHandshakeIv)])
    expect([hexOf(client.key), hexOf(client.iv)]).toEqual([hexOf(V.clientHandshakeKey), hexOf(V.clientHandshakeIv)])
  })

  it("the server finished key expands from the server handshake traffic secret", () => {
    expect(hexOf(KeySchedule.finishedKey(suite, V.serverHandshakeTraffic))).toBe(hexOf(V.serverFinishedKey))
  })

  it("the master secret follows from the handshake secret", () => {
    expect(hexOf(KeySchedule.masterSecret(suite, V.handshakeSecret))).toBe(hexOf(V.masterSecret))
  })

  it("application traffic secrets and keys derive from the master secret and the server Finished transcript", () => {
    const secrets = KeySchedule.applicationTrafficSecrets(suite, V.masterSecret, V.serverFinishedHash)
    expect(hexOf(secrets.client)).toBe(hexOf(V.clientApplicationTraffic))
    expect(hexOf(secrets.server)).toBe(hexOf(V.serverApplicationTraffic))
    const server = KeySchedule.trafficKeys(suite, secrets.server)
    expect([hexOf(server.key), hexOf(server.iv)]).toEqual([hexOf(V.serverApplicationKey), hexOf(V.serverApplicationIv)])
  })

  it("a key update derives a different secret of the same length, deterministically", () => {
    const next = KeySchedule.nextApplicationTrafficSecret(suite, V.serverApplicationTraffic)
    expect(next.length).toBe(32)
    expect(hexOf(next)).not.toBe(hexOf(V.serverApplicationTraffic))
    expect(hexOf(next)).toBe(
      hexOf(KeySchedule.hkdfExpandLabel(suite, V.serverApplicationTraffic, "traffic upd", new Uint8Array(0), 32))
    )
  })

  it("a HelloRetryRequest transcript starts with message_hash of the first ClientHello", () => {
    const transcript = new TranscriptHash()
    transcript.add(V.clientHello)
    transcript.replaceWithMessageHash("sha256")
    const digest = crypto.createHash("sha256").update(V.clientHello).digest()
    const expected = crypto
      .createHash("sha256")
      .update(Buffer.concat([Buffer.from([254, 0, 0, 32]), digest]))
      .digest()
    expect(hexOf(transcript.current())).toBe(hexOf(expected))
  })
})
