// CertificateVerify (RFC 8446 section 4.4.3): a signature scheme and a signature over the transcript hash.
import { ByteReader } from "../ByteReader.js"
import { ByteWriter } from "../ByteWriter.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

export interface CertificateVerify {
  readonly scheme: number
  readonly signature: Uint8Array
}

export const decodeCertificateVerify = (body: Uint8Array): CertificateVerify => {
  const reader = new ByteReader(body)
  const scheme = reader.u16("signature scheme")
  const signature = reader.vector(2, "signature", 1)
  reader.end("CertificateVerify")
  return { scheme, signature }
}

export const encodeCertificateVerify = (verify: CertificateVerify): Uint8Array =>
  frameHandshake(
    HandshakeType.certificate_verify,
    new ByteWriter()
      .u16(verify.scheme)
      .vector(2, (w) => w.bytes(verify.signature))
      .finish()
  )
