// Server authentication with crypto.X509Certificate: the presented chain must lead to a configured root,
// every certificate must be within its validity period, issuers must be CAs, signatures must verify and the
// leaf must name the host (or IP address) the client asked for. Each failure is its own tagged error.
import * as crypto from "node:crypto"
import * as net from "node:net"
import { Data } from "effect"

/** A configured root certificate that is not a PEM or DER X.509 certificate. */
export class InvalidRootCertificate extends Data.TaggedError("InvalidRootCertificate")<{ readonly position: number }> {
  override get message() {
    return `root certificate ${this.position} is not a valid X.509 certificate`
  }
}

export class EmptyCertificateChain extends Data.TaggedError("EmptyCertificateChain")<{ readonly host: string }> {
  override get message() {
    return `server ${this.host} sent no certificate`
  }
}

export class MalformedCertificate extends Data.TaggedError("MalformedCertificate")<{
  readonly host: string
  readonly position: number
}> {
  override get message() {
    return `certificate ${this.position} from ${this.host} is not valid DER X.509`
  }
}

export class UntrustedRoot extends Data.TaggedError("UntrustedRoot")<{ readonly host: string; readonly issuer: string }> {
  override get message() {
    return `certificate chain of ${this.host} does not lead to a configured root (last issuer: ${this.issuer})`
  }
}

export class CertificateExpired extends Data.TaggedError("CertificateExpired")<{
  readonly subject: string
  readonly validTo: string
}> {
  override get message() {
    return `certificate ${this.subject} expired on ${this.validTo}`
  }
}

export class CertificateNotYetValid extends Data.TaggedError("CertificateNotYetValid")<{
  readonly subject: string
  readonly validFrom: string
}> {
  override get message() {
    return `certificate ${this.subject} is not valid before ${this.validFrom}`
  }
}

export class NotACa extends Data.TaggedError("NotACa")<{ readonly subject: string }> {
  override get message() {
    return `certificate ${this.subject} issued another certificate but is not a CA`
  }
}

export class BadSignature extends Data.TaggedError("BadSignature")<{ readonly subject: string; readonly issuer: string }> {
  override get message() {
    return `signature on ${this.subject} does not verify with the key of ${this.issuer}`
  }
}

export class HostnameMismatch extends Data.TaggedError("HostnameMismatch")<{
  readonly host: string
  readonly subject: string
  readonly subjectAltName: string | undefined
}> {
  override get message() {
    return `certificate ${this.subject} (${this.subjectAltName ?? "no subjectAltName"}) does not match ${this.host}`
  }
}

export type CertificateError =
  | EmptyCertificateChain
  | MalformedCertificate
  | UntrustedRoot
  | CertificateExpired
  | CertificateNotYetValid
  | NotACa
  | BadSignature
  | HostnameMismatch

const maxChainLength = 10

const parse = (der: Uint8Array, host: string, position: number): crypto.X509Certificate => {
  try {
    return new crypto.X509Certificate(der)
  } catch {
    throw new MalformedCertificate({ host, position })
  }
}

const checkValidity = (certificate: crypto.X509Certificate, now: Date): void => {
  if (now.getTime() < new Date(certificate.validFrom).getTime()) {
    throw new CertificateNotYetValid({ subject: certificate.subject, validFrom: certificate.validFrom })
  }
  if (now.getTime() > new Date(certificate.validTo).getTime()) {
    throw new CertificateExpired({ subject: certificate.subject, validTo: certificate.validTo })
  }
}

const checkSignedBy = (certificate: crypto.X509Certificate, issuer: crypto.X509Certificate): void => {
  if (!issuer.ca) throw new NotACa({ subject: issuer.subject })
  if (!certificate.verify(issuer.publicKey)) {
    throw new BadSignature({ subject: certificate.subject, issuer: issuer.subject })
  }
}

export class CertificateVerifier {
  private readonly roots: ReadonlyArray<crypto.X509Certificate>

  /** `rootCertificates` are PEM texts (one certificate each) or DER; a bad one throws InvalidRootCertificate. */
  constructor(rootCertificates: ReadonlyArray<string | Uint8Array>, private readonly clock: () => Date = () => new Date()) {
    this.roots = rootCertificates.map((root, position) => {
      try {
        return new crypto.X509Certificate(root)
      } catch {
        throw new InvalidRootCertificate({ position })
      }
    })
  }

  /**
   * Verifies the server's chain (leaf first) for `host`, a DNS name or an IP address; returns the leaf so the
   * caller can check the CertificateVerify signature with its key. Throws a CertificateError.
   */
  verify(chainDer: ReadonlyArray<Uint8Array>, host: string): crypto.X509Certificate {
    if (chainDer.length === 0) throw new EmptyCertificateChain({ host })
    const chain = chainDer.map((der, position) => parse(der, host, position))
    const leaf = chain[0]!
    const now = this.clock()
    const unused = chain.slice(1)
    let current = leaf
    for (let depth = 0; ; depth++) {
      checkValidity(current, now)
      const root = this.roots.find((candidate) => current.checkIssued(candidate) || current.raw.equals(candidate.raw))
      if (root !== undefined) {
        if (!current.raw.equals(root.raw)) {
          checkValidity(root, now)
          checkSignedBy(current, root)
        }
        break
      }
      const index = unused.findIndex((candidate) => current.checkIssued(candidate))
      if (index < 0 || depth >= maxChainLength) throw new UntrustedRoot({ host, issuer: current.issuer })
      const issuer = unused.splice(index, 1)[0]!
      checkSignedBy(current, issuer)
      current = issuer
    }
    const matches = net.isIP(host) !== 0 ? leaf.checkIP(host) !== undefined : leaf.checkHost(host) !== undefined
    if (!matches) {
      throw new HostnameMismatch({ host, subject: leaf.subject, subjectAltName: leaf.subjectAltName })
    }
    return leaf
  }
}
