// What the server handshake needs for one connection: its credential, the algorithms it accepts in
// preference order, and, when it authenticates the client, the request drawn for this connection and the
// verifier the client's chain is handed to.
import {
  type CipherSuite,
  TLS_AES_128_GCM_SHA256,
  TLS_AES_256_GCM_SHA384,
  TLS_CHACHA20_POLY1305_SHA256
} from "../../CipherSuite.js"
import type { NamedGroup } from "../../NamedGroup.js"
import type { ServerCredential } from "../../ServerCredential.js"
import { handshakeSignatureSchemes } from "../../SignatureScheme.js"

/**
 * A CertificateRequest for one connection. Each `certificateAuthorities` entry is sent as it is: a DER Name
 * for ordinary clients, or the ASCII of a base64 challenge for RA-TLS clients (docs RA-TLS.md, section 1).
 */
export interface CertificateRequestPolicy {
  readonly certificateAuthorities: ReadonlyArray<Uint8Array>
  /** When true an empty client Certificate ends the handshake with certificate_required. */
  readonly required: boolean
}

/** What the verifier learns about a client that proved possession of its certificate's key. */
export interface ClientVerificationInfo {
  /** DER certificates as the client sent them, its own first. */
  readonly chainDer: ReadonlyArray<Uint8Array>
  /** What this connection's CertificateRequest carried in certificate_authorities. */
  readonly certificateAuthorities: ReadonlyArray<Uint8Array>
}

/**
 * Decides whether a client may proceed. Resolving to nothing accepts; `{ reject }` ends the handshake with an
 * access_denied alert and a ClientRejected error carrying the reason; a rejected promise (a broken verifier)
 * ends it with internal_error and ClientVerifierFailed.
 */
export type ClientVerifier = (info: ClientVerificationInfo) => Promise<void | { readonly reject: string }>

export interface ServerConfig {
  readonly credential: ServerCredential
  /** Accepted suites, in the server's preference order. */
  readonly cipherSuites: ReadonlyArray<CipherSuite>
  /** Accepted groups, in the server's preference order. */
  readonly groups: ReadonlyArray<NamedGroup>
  /** Undefined: the client is not asked for a certificate. */
  readonly certificateRequest: CertificateRequestPolicy | undefined
  /** Undefined: any chain whose key signed the CertificateVerify is accepted. */
  readonly verifyClient: ClientVerifier | undefined
}

/** The strongest AEAD first, as the reference registry server orders them. */
export const serverCipherSuitePreference: ReadonlyArray<CipherSuite> = [
  TLS_AES_256_GCM_SHA384,
  TLS_AES_128_GCM_SHA256,
  TLS_CHACHA20_POLY1305_SHA256
]

/** The schemes a client's CertificateVerify may use, as the CertificateRequest lists them. */
export const clientSignatureSchemes: ReadonlyArray<number> = handshakeSignatureSchemes
