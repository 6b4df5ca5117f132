// The Certificate message (RFC 8446 section 4.4.2): a request context and a list of DER certificates, each
// with its own extensions (ignored here: OCSP and SCT are not requested).
import { ByteReader } from "../ByteReader.js"
import { ByteWriter } from "../ByteWriter.js"
import { readExtensions } from "./Extension.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

export interface Certificate {
  readonly context: Uint8Array
  /** DER certificates, the end-entity first. */
  readonly certificates: ReadonlyArray<Uint8Array>
}

export const decodeCertificate = (body: Uint8Array): Certificate => {
  const reader = new ByteReader(body)
  const context = reader.vector(1, "certificate_request_context")
  const certificates = reader.nested(3, "certificate_list", (list) =>
    list.each((entry) => {
      const der = entry.vector(3, "cert_data", 1)
      readExtensions(entry, "CertificateEntry")
      return der
    })
  )
  reader.end("Certificate")
  return { context, certificates }
}

export const encodeCertificate = (certificate: Certificate): Uint8Array =>
  frameHandshake(
    HandshakeType.certificate,
    new ByteWriter()
      .vector(1, (w) => w.bytes(certificate.context))
      .vector(3, (list) => {
        for (const der of certificate.certificates) list.vector(3, (w) => w.bytes(der)).u16(0)
      })
      .finish()
  )
