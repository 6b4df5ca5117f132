// Hands a client's proven chain to the application's verifier. The verdict is started as soon as the
// CertificateVerify checks out and awaited at the client Finished, so a slow verifier (attestation) overlaps
// the last message.
import { ClientRejected, ClientVerifierFailed } from "./ClientAuthenticationError.js"
import type { ClientVerificationInfo, ClientVerifier } from "./ServerConfig.js"

/** Settles to undefined when accepted, or to the error that ends the handshake; never rejects. */
export type ClientVerdict = Promise<ClientRejected | ClientVerifierFailed | undefined>

export const startClientVerification = (verifier: ClientVerifier, info: ClientVerificationInfo): ClientVerdict =>
  Promise.resolve()
    .then(() => verifier(info))
    .then(
      (answer) => (answer === undefined ? undefined : new ClientRejected({ reason: answer.reject })),
      (cause: unknown) => new ClientVerifierFailed({ cause })
    )
