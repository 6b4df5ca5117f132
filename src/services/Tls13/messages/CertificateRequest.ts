// CertificateRequest (RFC 8446 section 4.3.2). The certificate_authorities entries are kept as raw bytes and
// never parsed as DER names: RA-TLS servers put a base64 challenge there (see docs RA-TLS.md, section 1).
import { ByteReader } from "../ByteReader.js"
import { ByteWriter } from "../ByteWriter.js"
import { DecodeError } from "../Tls13Error.js"
import { ExtensionType, readExtensions, writeExtensions } from "./Extension.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

export interface CertificateRequest {
  readonly context: Uint8Array
  readonly signatureAlgorithms: ReadonlyArray<number>
  readonly signatureAlgorithmsCert: ReadonlyArray<number>
  readonly certificateAuthorities: ReadonlyArray<Uint8Array>
}

const readSchemes = (body: Uint8Array, field: string): ReadonlyArray<number> => {
  const reader = new ByteReader(body)
  const schemes = reader.nested(2, field, (list) => list.each((item) => item.u16(field)), 2)
  reader.end(field)
  return schemes
}

export const decodeCertificateRequest = (body: Uint8Array): CertificateRequest => {
  const reader = new ByteReader(body)
  const context = reader.vector(1, "certificate_request_context")
  const extensions = readExtensions(reader, "CertificateRequest")
  reader.end("CertificateRequest")
  const algorithms = extensions.get(ExtensionType.signature_algorithms)
  if (algorithms === undefined) {
    throw new DecodeError({ reason: "CertificateRequest without signature_algorithms" })
  }
  const algorithmsCert = extensions.get(ExtensionType.signature_algorithms_cert)
  const authoritiesBody = extensions.get(ExtensionType.certificate_authorities)
  let certificateAuthorities: ReadonlyArray<Uint8Array> = []
  if (authoritiesBody !== undefined) {
    const authorities = new ByteReader(authoritiesBody)
    certificateAuthorities = authorities.nested(
      2,
      "certificate_authorities",
      (list) => list.each((entry) => entry.vector(2, "DistinguishedName", 1)),
      3
    )
    authorities.end("certificate_authorities")
  }
  return {
    context,
    signatureAlgorithms: readSchemes(algorithms, "signature_algorithms"),
    signatureAlgorithmsCert:
      algorithmsCert === undefined ? [] : readSchemes(algorithmsCert, "signature_algorithms_cert"),
    certificateAuthorities
  }
}

/** A CertificateRequest message, header included (server role and tests). */
export const encodeCertificateRequest = (request: CertificateRequest): Uint8Array => {
  const writer = new ByteWriter().vector(1, (w) => w.bytes(request.context))
  const extensions: Array<readonly [number, (w: ByteWriter) => void]> = [
    [ExtensionType.signature_algorithms, (w) => w.vector(2, (l) => request.signatureAlgorithms.forEach((s) => l.u16(s)))]
  ]
  if (request.signatureAlgorithmsCert.length > 0) {
    extensions.push([
      ExtensionType.signature_algorithms_cert,
      (w) => w.vector(2, (l) => request.signatureAlgorithmsCert.forEach((s) => l.u16(s)))
    ])
  }
  if (request.certificateAuthorities.length > 0) {
    extensions.push([
      ExtensionType.certificate_authorities,
      (w) => w.vector(2, (l) => request.certificateAuthorities.forEach((ca) => l.vector(2, (e) => e.bytes(ca))))
    ])
  }
  writeExtensions(writer, extensions)
  return frameHandshake(HandshakeType.certificate_request, writer.finish())
}
