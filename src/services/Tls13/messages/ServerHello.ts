// ServerHello and HelloRetryRequest (RFC 8446 sections 4.1.3-4.1.4): the same wire structure, told apart by
// the special random value. Decoding checks structure only; whether the choices are acceptable is decided by
// the client state that receives them.
import { ByteReader } from "../ByteReader.js"
import { ByteWriter } from "../ByteWriter.js"
import { DecodeError } from "../Tls13Error.js"
import { readKeyShareEntry, type KeyShareEntry } from "./ClientHello.js"
import { ExtensionType, legacyVersion, readExtensions, tls13Version, writeExtensions } from "./Extension.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

/** SHA-256("HelloRetryRequest"). */
export const helloRetryRequestRandom = Uint8Array.from(
  Buffer.from("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c", "hex")
)

export interface ServerHello {
  readonly _tag: "ServerHello"
  readonly random: Uint8Array
  readonly sessionIdEcho: Uint8Array
  readonly cipherSuite: number
  readonly selectedVersion: number | undefined
  readonly keyShare: KeyShareEntry | undefined
  readonly extensionTypes: ReadonlyArray<number>
}

export interface HelloRetryRequest {
  readonly _tag: "HelloRetryRequest"
  readonly sessionIdEcho: Uint8Array
  readonly cipherSuite: number
  readonly selectedVersion: number | undefined
  readonly selectedGroup: number | undefined
  readonly cookie: Uint8Array | undefined
  readonly extensionTypes: ReadonlyArray<number>
}

const readSelectedVersion = (body: Uint8Array | undefined): number | undefined => {
  if (body === undefined) return undefined
  const reader = new ByteReader(body)
  const version = reader.u16("selected_version")
  reader.end("supported_versions")
  return version
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b)

/** Decodes a ServerHello body (without the handshake header) into a ServerHello or a HelloRetryRequest. */
export const decodeServerHello = (body: Uint8Array): ServerHello | HelloRetryRequest => {
  const reader = new ByteReader(body)
  const version = reader.u16("legacy_version")
  if (version !== legacyVersion) throw new DecodeError({ reason: `ServerHello legacy_version ${version.toString(16)}` })
  const random = reader.bytesOf(32, "random")
  const sessionIdEcho = reader.vector(1, "legacy_session_id_echo")
  if (sessionIdEcho.length > 32) throw new DecodeError({ reason: "legacy_session_id_echo longer than 32 bytes" })
  const cipherSuite = reader.u16("cipher_suite")
  const compression = reader.u8("legacy_compression_method")
  if (compression !== 0) throw new DecodeError({ reason: `compression method ${compression}` })
  const extensions = readExtensions(reader, "ServerHello")
  reader.end("ServerHello")
  const selectedVersion = readSelectedVersion(extensions.get(ExtensionType.supported_versions))
  const extensionTypes = [...extensions.keys()]
  const keyShareBody = extensions.get(ExtensionType.key_share)
  if (sameBytes(random, helloRetryRequestRandom)) {
    let selectedGroup: number | undefined
    if (keyShareBody !== undefined) {
      const keyShare = new ByteReader(keyShareBody)
      selectedGroup = keyShare.u16("selected_group")
      keyShare.end("key_share")
    }
    let cookie: Uint8Array | undefined
    const cookieBody = extensions.get(ExtensionType.cookie)
    if (cookieBody !== undefined) {
      const cookieReader = new ByteReader(cookieBody)
      cookie = cookieReader.vector(2, "cookie", 1)
      cookieReader.end("cookie")
    }
    return { _tag: "HelloRetryRequest", sessionIdEcho, cipherSuite, selectedVersion, selectedGroup, cookie, extensionTypes }
  }
  let keyShare: KeyShareEntry | undefined
  if (keyShareBody !== undefined) {
    const keyShareReader = new ByteReader(keyShareBody)
    keyShare = readKeyShareEntry(keyShareReader)
    keyShareReader.end("key_share")
  }
  return { _tag: "ServerHello", random, sessionIdEcho, cipherSuite, selectedVersion, keyShare, extensionTypes }
}

/** A TLS 1.3 ServerHello message, header included (server role). */
export const encodeServerHello = (hello: {
  readonly random: Uint8Array
  readonly sessionIdEcho: Uint8Array
  readonly cipherSuite: number
  readonly keyShare: KeyShareEntry
}): Uint8Array => {
  const writer = new ByteWriter()
    .u16(legacyVersion)
    .bytes(hello.random)
    .vector(1, (w) => w.bytes(hello.sessionIdEcho))
    .u16(hello.cipherSuite)
    .u8(0)
  writeExtensions(writer, [
    [ExtensionType.supported_versions, (w) => w.u16(tls13Version)],
    [ExtensionType.key_share, (w) => w.u16(hello.keyShare.group).vector(2, (key) => key.bytes(hello.keyShare.keyExchange))]
  ])
  return frameHandshake(HandshakeType.server_hello, writer.finish())
}

/** A HelloRetryRequest message, header included (server role). */
export const encodeHelloRetryRequest = (request: {
  readonly sessionIdEcho: Uint8Array
  readonly cipherSuite: number
  readonly selectedGroup: number
  readonly cookie: Uint8Array | undefined
}): Uint8Array => {
  const writer = new ByteWriter()
    .u16(legacyVersion)
    .bytes(helloRetryRequestRandom)
    .vector(1, (w) => w.bytes(request.sessionIdEcho))
    .u16(request.cipherSuite)
    .u8(0)
  const cookie = request.cookie
  writeExtensions(writer, [
    [ExtensionType.supported_versions, (w) => w.u16(tls13Version)],
    [ExtensionType.key_share, (w) => w.u16(request.selectedGroup)],
    ...(cookie === undefined
      ? []
      : [[ExtensionType.cookie, (w: ByteWriter) => w.vector(2, (c) => c.bytes(cookie))] as const])
  ])
  return frameHandshake(HandshakeType.server_hello, writer.finish())
}
