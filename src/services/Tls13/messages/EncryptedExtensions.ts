// EncryptedExtensions (RFC 8446 section 4.3.1): the server's answers to ClientHello extensions that do not
// affect the keys. The client only needs their types, to refuse any it did not ask for.
import { ByteReader } from "../ByteReader.js"
import { ByteWriter } from "../ByteWriter.js"
import { readExtensions, writeExtensions } from "./Extension.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

export interface EncryptedExtensions {
  readonly extensionTypes: ReadonlyArray<number>
}

export const decodeEncryptedExtensions = (body: Uint8Array): EncryptedExtensions => {
  const reader = new ByteReader(body)
  const extensions = readExtensions(reader, "EncryptedExtensions")
  reader.end("EncryptedExtensions")
  return { extensionTypes: [...extensions.keys()] }
}

/** An EncryptedExtensions message without extensions, header included (server role). */
export const encodeEmptyEncryptedExtensions = (): Uint8Array => {
  const writer = new ByteWriter()
  writeExtensions(writer, [])
  return frameHandshake(HandshakeType.encrypted_extensions, writer.finish())
}
