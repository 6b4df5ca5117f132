import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { CertificateVerifier } from "../../../src/services/Tls13/CertificateVerifier.js"
import { allCipherSuites, TLS_AES_128_GCM_SHA256 } from "../../../src/services/Tls13/CipherSuite.js"
import { ClientConnection } from "../../../src/services/Tls13/ClientConnection.js"
import { HandshakeReader } from "../../../src/services/Tls13/HandshakeReader.js"
import { decodeAlert } from "../../../src/services/Tls13/messages/Alert.js"
import { decodeCertificate, encodeCertificate } from "../../../src/services/Tls13/messages/Certificate.js"
import {
  decodeCertificateRequest,
  encodeCertificateRequest
} from "../../../src/services/Tls13/messages/CertificateRequest.js"
import { decodeCertificateVerify, encodeCertificateVerify } from "../../../src/services/Tls13/messages/CertificateVerify.js"
import { type ClientHello, decodeClientHello, encodeClientHello } from "../../../src/services/Tls13/messages/ClientHello.js"
import { decodeEncryptedExtensions } from "../../../src/services/Tls13/messages/EncryptedExtensions.js"
import { decodeFinished } from "../../../src/services/Tls13/messages/Finished.js"
import { decodeKeyUpdate } from "../../../src/services/Tls13/messages/KeyUpdate.js"
import { decodeNewSessionTicket } from "../../../src/services/Tls13/messages/NewSessionTicket.js"
import {
  decodeServerHello,
  encodeHelloRetryRequest,
  encodeServerHello
} from "../../../src/services/Tls13/messages/ServerHello.js"
import { allNamedGroups } from "../../../src/services/Tls13/NamedGroup.js"
import { RecordLayer } from "../../../src/services/Tls13/RecordLayer.js"
import { connectScripted, until } from "./ScriptedServer.js"
import { type Issued, issueServer, makeRootCa } from "./TestPki.js"

const typedTags = new Set([
  "DecodeError",
  "UnexpectedMessage",
  "IllegalParameter",
  "HandshakeFailure",
  "BadRecordMac",
  "RecordOverflow",
  "DecryptError",
  "AlertReceived",
  "TruncatedStream",
  "EmptyCertificateChain",
  "MalformedCertificate",
  "UntrustedRoot",
  "BadSignature",
  "HostnameMismatch"
])

/** Runs `parse`; it may succeed or fail with a typed error, never anything else. */
const onlyTypedErrors = (parse: () => unknown): void => {
  try {
    parse()
  } catch (error) {
    expect(typedTags.has((error as { _tag?: string })._tag ?? "")).toBe(true)
  }
}

const bytes = fc.uint8Array({ maxLength: 300 })

/** A valid encoding with some bytes overwritten and maybe cut short. */
const mutated = (valid: Uint8Array) =>
  fc
    .record({
      edits: fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      cut: fc.option(fc.nat(valid.length), { nil: undefined })
    })
    .map(({ cut, edits }) => {
      const copy = Buffer.from(valid)
      for (const [position, value] of edits) copy[position] = value
      return cut === undefined ? copy : copy.subarray(0, cut)
    })

const sampleHello: ClientHello = {
  random: new Uint8Array(32).fill(7),
  sessionId: new Uint8Array(32).fill(9),
  cipherSuites: [0x1301, 0x1302, 0x1303],
  serverName: "registry.example",
  supportedVersions: [0x0304],
  supportedGroups: [0x1d, 0x17, 0x18],
  keyShares: [{ group: 0x1d, keyExchange: new Uint8Array(32).fill(1) }],
  signatureAlgorithms: [0x0403, 0x0804],
  signatureAlgorithmsCert: [0x0401],
  cookie: new Uint8Array([1, 2, 3])
}

const validMessages: ReadonlyArray<readonly [string, Uint8Array, (body: Uint8Array) => unknown]> = [
  ["ClientHello", encodeClientHello(sampleHello), decodeClientHello],
  [
    "ServerHello",
    encodeServerHello({
      random: new Uint8Array(32),
      sessionIdEcho: new Uint8Array(32),
      cipherSuite: 0x1301,
      keyShare: { group: 0x1d, keyExchange: new Uint8Array(32).fill(2) }
    }),
    decodeServerHello
  ],
  [
    "HelloRetryRequest",
    encodeHelloRetryRequest({ sessionIdEcho: new Uint8Array(0), cipherSuite: 0x1302, selectedGroup: 0x18, cookie: new Uint8Array(8) }),
    decodeServerHello
  ],
  [
    "CertificateRequest",
    encodeCertificateRequest({
      context: new Uint8Array(0),
      signatureAlgorithms: [0x0804],
      signatureAlgorithmsCert: [0x0401],
      certificateAuthorities: [Buffer.from("c2VjcmV0".repeat(11), "ascii")]
    }),
    decodeCertificateRequest
  ],
  ["Certificate", encodeCertificate({ context: new Uint8Array(0), certificates: [new Uint8Array(40).fill(48)] }), decodeCertificate],
  ["CertificateVerify", encodeCertificateVerify({ scheme: 0x0807, signature: new Uint8Array(64) }), decodeCertificateVerify]
]

const allDecoders: ReadonlyArray<readonly [string, (body: Uint8Array) => unknown]> = [
  ["ClientHello", decodeClientHello],
  ["ServerHello", decodeServerHello],
  ["EncryptedExtensions", decodeEncryptedExtensions],
  ["CertificateRequest", decodeCertificateRequest],
  ["Certificate", decodeCertificate],
  ["CertificateVerify", decodeCertificateVerify],
  ["Finished", (body) => decodeFinished(body, 32)],
  ["NewSessionTicket", decodeNewSessionTicket],
  ["KeyUpdate", decodeKeyUpdate],
  ["Alert", decodeAlert]
]

describe("TLS 1.3 parsers under random and mutated input", () => {
  for (const [name, decode] of allDecoders) {
    it(`the ${name} decoder fails only with typed errors on random bytes`, () => {
      fc.assert(fc.property(bytes, (input) => onlyTypedErrors(() => decode(input))), { numRuns: 300 })
    })
  }

  for (const [name, valid, decode] of validMessages) {
    it(`the ${name} decoder accepts its own encoding and fails only with typed errors on mutations of it`, () => {
      expect(() => decode(valid.subarray(4))).not.toThrow()
      fc.assert(fc.property(mutated(valid.subarray(4)), (input) => onlyTypedErrors(() => decode(input))), { numRuns: 300 })
    })
  }

  it("ClientHello survives an encode/decode round trip with any name, suites and shares", () => {
    const hello = fc.record({
      serverName: fc.option(fc.stringMatching(/^[a-z0-9.-]{1,40}$/), { nil: undefined }),
      cipherSuites: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 10 }),
      keyShares: fc.array(
        fc.record({ group: fc.integer({ min: 0, max: 0xffff }), keyExchange: fc.uint8Array({ minLength: 1, maxLength: 97 }) }),
        { maxLength: 3 }
      )
    })
    fc.assert(
      fc.property(hello, (fields) => {
        const decoded = decodeClientHello(encodeClientHello({ ...sampleHello, ...fields }).subarray(4))
        expect(decoded.serverName).toBe(fields.serverName)
        expect(decoded.cipherSuites).toEqual(fields.cipherSuites)
        expect(decoded.keyShares.map((share) => [share.group, Buffer.from(share.keyExchange).toString("hex")])).toEqual(
          fields.keyShares.map((share) => [share.group, Buffer.from(share.keyExchange).toString("hex")])
        )
      })
    )
  })

  it("CertificateRequest keeps certificate_authorities entries byte for byte", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 4 }), (authorities) => {
        const encoded = encodeCertificateRequest({
          context: new Uint8Array(0),
          signatureAlgorithms: [0x0804],
          signatureAlgorithmsCert: [],
          certificateAuthorities: authorities
        })
        const decoded = decodeCertificateRequest(encoded.subarray(4))
        expect(decoded.certificateAuthorities.map((entry) => Buffer.from(entry).toString("hex"))).toEqual(
          authorities.map((entry) => Buffer.from(entry).toString("hex"))
        )
      })
    )
  })

  it("the record layer fails only with typed errors on random chunks, protected or not", () => {
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 5 }), fc.boolean(), (chunks, protectedLayer) => {
        const layer = new RecordLayer()
        if (protectedLayer) layer.setReadKey(TLS_AES_128_GCM_SHA256, new Uint8Array(32))
        onlyTypedErrors(() => {
          for (const chunk of chunks) {
            layer.receive(Buffer.from(chunk))
            while (layer.next() !== undefined);
          }
        })
      }),
      { numRuns: 300 }
    )
  })

  it("the handshake reader fails only with typed errors on random fragments", () => {
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 5 }), (fragments) => {
        const reader = new HandshakeReader()
        onlyTypedErrors(() => {
          for (const fragment of fragments) {
            reader.push(Buffer.from(fragment))
            while (reader.next() !== undefined);
          }
        })
      }),
      { numRuns: 300 }
    )
  })
})

describe("the client connection under hostile server bytes", () => {
  let root: Issued
  let leaf: Issued

  beforeAll(async () => {
    root = await makeRootCa("Property Root", "p256")
    leaf = await issueServer(root)
  })

  const config = () => ({
    serverName: "localhost",
    verifier: new CertificateVerifier([root.certificatePem]),
    cipherSuites: allCipherSuites,
    groups: allNamedGroups,
    clientCertificate: undefined
  })

  it("reports a typed failure, never a crash, for random bytes instead of a ServerHello", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 4 }), (chunks) => {
        const failures: Array<Error> = []
        const connection = new ClientConnection(config(), {
          write: () => undefined,
          handshakeComplete: () => undefined,
          data: () => undefined,
          closeNotify: () => undefined,
          failure: (error) => failures.push(error)
        })
        connection.start()
        for (const chunk of chunks) connection.receive(Buffer.from(chunk))
        connection.transportEnded()
        expect(failures).toHaveLength(1)
        expect(typedTags.has((failures[0] as unknown as { _tag?: string })._tag ?? "")).toBe(true)
      }),
      { numRuns: 300 }
    )
  })

  it("either completes or fails with a typed error when one byte of the server's stream is changed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(2000), fc.integer({ min: 1, max: 255 }), async (position, xor) => {
        let offset = 0
        const onTheWire = (chunk: Buffer) => {
          const copy = Buffer.from(chunk)
          if (position >= offset && position < offset + copy.length) copy[position - offset]! ^= xor
          offset += chunk.length
          return copy
        }
        const { client, events } = connectScripted(config(), { leaf, onTheWire })
        await until(() => events.connected || events.failures.length > 0).catch(() => undefined)
        // A changed length byte leaves the client waiting for bytes the server never sends; the server then
        // closes, as a real one would after its own timeout.
        if (!events.connected && events.failures.length === 0) {
          client.transportEnded()
          await until(() => events.failures.length > 0)
        }
        const tags = events.failures.map((error) => (error as unknown as { _tag?: string })._tag ?? error.message)
        expect(tags.every((tag) => typedTags.has(tag))).toBe(true)
        expect(events.connected || tags.length === 1).toBe(true)
      }),
      { numRuns: 40, examples: [[3, 3], [4, 1]] }
    )
  })
})
