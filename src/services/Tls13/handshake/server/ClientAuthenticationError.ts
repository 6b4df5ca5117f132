// The ways client authentication ends a server handshake, each with the alert the client receives:
// certificate_required, bad_certificate, access_denied (the verifier said no) or internal_error.
import { Data } from "effect"
import { AlertDescription } from "../../messages/Alert.js"

/** The server required a certificate and the client sent an empty Certificate. */
export class CertificateRequired extends Data.TaggedError("CertificateRequired")<{}> {
  override get message() {
    return "the client sent no certificate although one is required"
  }
}

/** The client's certificate cannot be used: not X.509, or a key no TLS 1.3 signature scheme fits. */
export class BadClientCertificate extends Data.TaggedError("BadClientCertificate")<{ readonly reason: string }> {
  override get message() {
    return `unusable client certificate: ${this.reason}`
  }
}

/** The verifier callback rejected the client's chain. */
export class ClientRejected extends Data.TaggedError("ClientRejected")<{ readonly reason: string }> {
  override get message() {
    return `client rejected: ${this.reason}`
  }
}

/** The verifier callback failed instead of deciding. */
export class ClientVerifierFailed extends Data.TaggedError("ClientVerifierFailed")<{ readonly cause: unknown }> {
  override get message() {
    return `client verifier failed: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

export type ClientAuthenticationError =
  | CertificateRequired
  | BadClientCertificate
  | ClientRejected
  | ClientVerifierFailed

export const clientAuthenticationAlerts: Record<ClientAuthenticationError["_tag"], AlertDescription> = {
  CertificateRequired: AlertDescription.certificate_required,
  BadClientCertificate: AlertDescription.bad_certificate,
  ClientRejected: AlertDescription.access_denied,
  ClientVerifierFailed: AlertDescription.internal_error
}
