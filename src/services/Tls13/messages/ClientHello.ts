// The ClientHello (RFC 8446 section 4.1.2) with the extensions this engine offers: versions, groups and key
// shares, signature schemes, server name and the cookie echoed after a HelloRetryRequest.
// The decoder exists for the server role and for round-trip tests.
import { ByteReader } from "../ByteReader.js"
import { ByteWriter } from "../ByteWriter.js"
import { DecodeError, IllegalParameter } from "../Tls13Error.js"
import { ExtensionType, type Extensions, legacyVersion, readExtensions, writeExtensions } from "./Extension.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

export interface KeyShareEntry {
  readonly group: number
  readonly keyExchange: Uint8Array
}

export interface ClientHello {
  readonly random: Uint8Array
  readonly sessionId: Uint8Array
  readonly cipherSuites: ReadonlyArray<number>
  readonly serverName: string | undefined
  readonly supportedVersions: ReadonlyArray<number>
  readonly supportedGroups: ReadonlyArray<number>
  readonly keyShares: ReadonlyArray<KeyShareEntry>
  readonly signatureAlgorithms: ReadonlyArray<number>
  readonly signatureAlgorithmsCert: ReadonlyArray<number>
  readonly cookie: Uint8Array | undefined
}

const u16List = (values: ReadonlyArray<number>) => (w: ByteWriter) => {
  w.vector(2, (list) => values.forEach((value) => list.u16(value)))
}

/** The whole handshake message, header included. */
export const encodeClientHello = (hello: ClientHello): Uint8Array => {
  const writer = new ByteWriter()
    .u16(legacyVersion)
    .bytes(hello.random)
    .vector(1, (w) => w.bytes(hello.sessionId))
    .vector(2, (w) => hello.cipherSuites.forEach((suite) => w.u16(suite)))
    .vector(1, (w) => w.u8(0))
  const extensions: Array<readonly [number, (w: ByteWriter) => void]> = []
  const serverName = hello.serverName
  if (serverName !== undefined) {
    extensions.push([
      ExtensionType.server_name,
      (w) => w.vector(2, (list) => list.u8(0).vector(2, (name) => name.bytes(Buffer.from(serverName, "ascii"))))
    ])
  }
  extensions.push(
    [ExtensionType.supported_versions, (w) => w.vector(1, (list) => hello.supportedVersions.forEach((v) => list.u16(v)))],
    [ExtensionType.supported_groups, u16List(hello.supportedGroups)],
    [ExtensionType.signature_algorithms, u16List(hello.signatureAlgorithms)],
    [ExtensionType.signature_algorithms_cert, u16List(hello.signatureAlgorithmsCert)],
    [
      ExtensionType.key_share,
      (w) =>
        w.vector(2, (list) => {
          for (const share of hello.keyShares) list.u16(share.group).vector(2, (key) => key.bytes(share.keyExchange))
        })
    ]
  )
  const cookie = hello.cookie
  if (cookie !== undefined) extensions.push([ExtensionType.cookie, (w) => w.vector(2, (c) => c.bytes(cookie))])
  writeExtensions(writer, extensions)
  return frameHandshake(HandshakeType.client_hello, writer.finish())
}

const readU16List = (body: Uint8Array | undefined, prefix: 1 | 2, field: string): ReadonlyArray<number> => {
  if (body === undefined) return []
  const reader = new ByteReader(body)
  const list = reader.nested(prefix, field, (r) => r.each((item) => item.u16(field)))
  reader.end(field)
  return list
}

const readServerName = (body: Uint8Array | undefined): string | undefined => {
  if (body === undefined) return undefined
  const reader = new ByteReader(body)
  const names = reader.nested(2, "server_name list", (list) =>
    list.each((entry) => ({ type: entry.u8("server name type"), name: entry.vector(2, "host name", 1) }))
  )
  reader.end("server_name")
  const host = names.find((entry) => entry.type === 0)
  return host === undefined ? undefined : Buffer.from(host.name).toString("ascii")
}

export const readKeyShareEntry = (reader: ByteReader): KeyShareEntry => ({
  group: reader.u16("key share group"),
  keyExchange: reader.vector(2, "key_exchange", 1)
})

const readKeyShares = (body: Uint8Array | undefined): ReadonlyArray<KeyShareEntry> => {
  if (body === undefined) return []
  const reader = new ByteReader(body)
  const shares = reader.nested(2, "client_shares", (list) => list.each(readKeyShareEntry))
  reader.end("key_share")
  return shares
}

const readCookie = (body: Uint8Array | undefined): Uint8Array | undefined => {
  if (body === undefined) return undefined
  const reader = new ByteReader(body)
  const cookie = reader.vector(2, "cookie", 1)
  reader.end("cookie")
  return cookie
}

/** Decodes a ClientHello body (without the handshake header). */
export const decodeClientHello = (body: Uint8Array): ClientHello => {
  const reader = new ByteReader(body)
  reader.u16("legacy_version")
  const random = reader.bytesOf(32, "random")
  const sessionId = reader.vector(1, "legacy_session_id")
  if (sessionId.length > 32) throw new DecodeError({ reason: "legacy_session_id longer than 32 bytes" })
  const cipherSuites = reader.nested(2, "cipher_suites", (r) => r.each((item) => item.u16("cipher suite")), 2)
  const compression = reader.vector(1, "legacy_compression_methods", 1)
  if (compression.length !== 1 || compression[0] !== 0) {
    throw new IllegalParameter({ reason: "legacy_compression_methods is not the single null method" })
  }
  const extensions: Extensions = readExtensions(reader, "ClientHello")
  reader.end("ClientHello")
  return {
    random,
    sessionId,
    cipherSuites,
    serverName: readServerName(extensions.get(ExtensionType.server_name)),
    supportedVersions: readU16List(extensions.get(ExtensionType.supported_versions), 1, "supported_versions"),
    supportedGroups: readU16List(extensions.get(ExtensionType.supported_groups), 2, "supported_groups"),
    keyShares: readKeyShares(extensions.get(ExtensionType.key_share)),
    signatureAlgorithms: readU16List(extensions.get(ExtensionType.signature_algorithms), 2, "signature_algorithms"),
    signatureAlgorithmsCert: readU16List(
      extensions.get(ExtensionType.signature_algorithms_cert),
      2,
      "signature_algorithms_cert"
    ),
    cookie: readCookie(extensions.get(ExtensionType.cookie))
  }
}
