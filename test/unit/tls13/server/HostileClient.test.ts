import * as crypto from "node:crypto"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { type ClientHello, decodeClientHello, encodeClientHello } from "../../../../src/services/Tls13/messages/ClientHello.js"
import { encodeFinished } from "../../../../src/services/Tls13/messages/Finished.js"
import { generateKeyShare, NamedGroup } from "../../../../src/services/Tls13/NamedGroup.js"
import { ContentType, RecordLayer } from "../../../../src/services/Tls13/RecordLayer.js"
import { handshakeSignatureSchemes } from "../../../../src/services/Tls13/SignatureScheme.js"
import { type Issued, issueServer, makeRootCa } from "../TestPki.js"
import { lonelyServer, serverConfig, tagOf } from "./MemoryPair.js"

let leaf: Issued

beforeAll(async () => {
  leaf = await issueServer(await makeRootCa("Hostile Client Root", "p256"))
})

const hello = (overrides: Partial<ClientHello> = {}): ClientHello => ({
  random: crypto.randomBytes(32),
  sessionId: crypto.randomBytes(32),
  cipherSuites: [0x1301, 0x1302, 0x1303],
  serverName: "localhost",
  supportedVersions: [0x0304],
  supportedGroups: [NamedGroup.x25519, NamedGroup.secp384r1],
  keyShares: [{ group: NamedGroup.x25519, keyExchange: generateKeyShare(NamedGroup.x25519).publicKey }],
  signatureAlgorithms: handshakeSignatureSchemes,
  signatureAlgorithmsCert: [],
  cookie: undefined,
  ...overrides
})

const record = (message: Uint8Array): Buffer => Buffer.concat(new RecordLayer().encode(ContentType.handshake, message))

/** The alert description in the server's last plaintext record, if it is an alert. */
const lastAlert = (written: ReadonlyArray<Buffer>): number | undefined => {
  const last = written.at(-1)
  return last !== undefined && last[0] === ContentType.alert ? last[6] : undefined
}

const serverTags = new Set([
  "DecodeError",
  "UnexpectedMessage",
  "IllegalParameter",
  "HandshakeFailure",
  "UnsupportedVersion",
  "BadRecordMac",
  "RecordOverflow",
  "DecryptError",
  "AlertReceived",
  "TruncatedStream"
])

describe("the server connection facing a hostile or outdated client", () => {
  it("answers bytes that are not a TLS record with decode_error", () => {
    const { events, server, written } = lonelyServer(serverConfig(leaf))
    server.receive(Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
    expect(events.failures.map(tagOf)).toEqual(["DecodeError"])
    expect(lastAlert(written)).toBe(50)
  })

  it("answers a ClientHello without TLS 1.3 in supported_versions with protocol_version", () => {
    const { events, server, written } = lonelyServer(serverConfig(leaf))
    server.receive(record(encodeClientHello(hello({ supportedVersions: [0x0303] }))))
    expect(events.failures.map(tagOf)).toEqual(["UnsupportedVersion"])
    expect(lastAlert(written)).toBe(70)
  })

  it("answers a ClientHello with no suite in common with handshake_failure", () => {
    const { events, server, written } = lonelyServer(serverConfig(leaf))
    server.receive(record(encodeClientHello(hello({ cipherSuites: [0xc02f] }))))
    expect(events.failures.map(tagOf)).toEqual(["HandshakeFailure"])
    expect(lastAlert(written)).toBe(40)
  })

  it("answers a Finished in place of a ClientHello with unexpected_message", () => {
    const { events, server, written } = lonelyServer(serverConfig(leaf))
    server.receive(record(encodeFinished(new Uint8Array(32))))
    expect(events.failures.map(tagOf)).toEqual(["UnexpectedMessage"])
    expect(lastAlert(written)).toBe(10)
  })

  it("reports TruncatedStream when the client leaves after half a ClientHello", () => {
    const { events, server } = lonelyServer(serverConfig(leaf))
    const bytes = record(encodeClientHello(hello()))
    server.receive(bytes.subarray(0, bytes.length >> 1))
    server.transportEnded()
    expect(events.failures.map(tagOf)).toEqual(["TruncatedStream"])
  })

  it("answers a retried ClientHello whose random changed with illegal_parameter", () => {
    const { events, server, written } = lonelyServer(serverConfig(leaf, { groups: [NamedGroup.secp384r1] }))
    const first = hello()
    server.receive(record(encodeClientHello(first)))
    expect(events.failures).toEqual([])
    const share = generateKeyShare(NamedGroup.secp384r1)
    server.receive(
      record(
        encodeClientHello({
          ...first,
          random: crypto.randomBytes(32),
          keyShares: [{ group: share.group, keyExchange: share.publicKey }]
        })
      )
    )
    expect(events.failures.map(tagOf)).toEqual(["IllegalParameter"])
    expect(lastAlert(written)).toBe(47)
  })

  it("answers a retried ClientHello without the requested key share with illegal_parameter", () => {
    const { events, server } = lonelyServer(serverConfig(leaf, { groups: [NamedGroup.secp384r1] }))
    const first = hello()
    server.receive(record(encodeClientHello(first)))
    server.receive(record(encodeClientHello(first)))
    expect(events.failures.map(tagOf)).toEqual(["IllegalParameter"])
  })

  it("fails only with typed errors, exactly once, for random bytes instead of a ClientHello", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 4 }), (chunks) => {
        const { events, server } = lonelyServer(serverConfig(leaf))
        for (const chunk of chunks) server.receive(Buffer.from(chunk))
        server.transportEnded()
        expect(events.failures.map((error) => serverTags.has(tagOf(error) ?? error.message))).toEqual([true])
      }),
      { numRuns: 300 }
    )
  })

  it("fails only with typed errors, exactly once, for a ClientHello with bytes changed or cut", () => {
    const valid = record(encodeClientHello(hello()))
    fc.assert(
      fc.property(
        fc.array(fc.record({ position: fc.nat(valid.length - 1), xor: fc.integer({ min: 1, max: 255 }) }), {
          minLength: 1,
          maxLength: 4
        }),
        fc.nat(valid.length),
        (changes, keep) => {
          const bytes = Buffer.from(valid)
          for (const { position, xor } of changes) bytes[position]! ^= xor
          const { events, server } = lonelyServer(serverConfig(leaf))
          server.receive(bytes.subarray(0, Math.max(1, keep)))
          server.transportEnded()
          expect(events.failures.map((error) => serverTags.has(tagOf(error) ?? error.message))).toEqual([true])
        }
      ),
      { numRuns: 200 }
    )
  })

  it("decodes a changed ClientHello body or fails with a typed error, never anything else", () => {
    const body = encodeClientHello(hello()).subarray(4)
    fc.assert(
      fc.property(fc.nat(body.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(body.length), (position, xor, keep) => {
        const bytes = Buffer.from(body)
        bytes[position]! ^= xor
        try {
          decodeClientHello(bytes.subarray(0, keep))
        } catch (error) {
          expect(serverTags.has(tagOf(error as Error) ?? "")).toBe(true)
        }
      }),
      { numRuns: 500 }
    )
  })
})
