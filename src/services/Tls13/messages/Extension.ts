// Extension blocks shared by the hello messages and the encrypted handshake messages (RFC 8446 section 4.2).
// Decoding keeps raw bodies keyed by type; each message decodes the ones it understands.
import type { ByteReader } from "../ByteReader.js"
import type { ByteWriter } from "../ByteWriter.js"
import { DecodeError } from "../Tls13Error.js"

export const ExtensionType = {
  server_name: 0,
  supported_groups: 10,
  signature_algorithms: 13,
  application_layer_protocol_negotiation: 16,
  pre_shared_key: 41,
  early_data: 42,
  supported_versions: 43,
  cookie: 44,
  psk_key_exchange_modes: 45,
  certificate_authorities: 47,
  post_handshake_auth: 49,
  signature_algorithms_cert: 50,
  key_share: 51
} as const

export const tls13Version = 0x0304
export const legacyVersion = 0x0303

export type Extensions = ReadonlyMap<number, Uint8Array>

/** Reads a `Extension extensions<0..2^16-1>` block; a repeated type is a decode error. */
export const readExtensions = (reader: ByteReader, where: string): Extensions =>
  reader.nested(2, `${where} extensions`, (block) => {
    const extensions = new Map<number, Uint8Array>()
    while (block.remaining > 0) {
      const type = block.u16(`${where} extension type`)
      const body = block.vector(2, `${where} extension ${type}`)
      if (extensions.has(type)) throw new DecodeError({ reason: `${where}: extension ${type} appears twice` })
      extensions.set(type, body)
    }
    return extensions
  })

export const writeExtensions = (
  writer: ByteWriter,
  extensions: ReadonlyArray<readonly [type: number, body: (writer: ByteWriter) => void]>
): void => {
  writer.vector(2, (block) => {
    for (const [type, body] of extensions) block.u16(type).vector(2, body)
  })
}
