// What the client handshake needs to know up front: whom it talks to, how it authenticates the server, the
// algorithms it offers and the optional hook that supplies a client certificate once the server asked for one.
import type * as crypto from "node:crypto"
import type { CertificateVerifier } from "../../CertificateVerifier.js"
import type { CipherSuite } from "../../CipherSuite.js"
import type { NamedGroup } from "../../NamedGroup.js"

/** What the server's CertificateRequest asked for; `certificateAuthorities` entries are raw, never parsed. */
export interface ClientCertificateRequest {
  readonly certificateAuthorities: ReadonlyArray<Uint8Array>
  readonly signatureAlgorithms: ReadonlyArray<number>
  readonly context: Uint8Array
}

export interface ClientCredential {
  /** DER certificates, the client's own first. */
  readonly chainDer: ReadonlyArray<Uint8Array>
  readonly privateKey: crypto.KeyObject
}

/** Resolves to the credential to present, or null to send an empty Certificate. */
export type ClientCertificateCallback = (request: ClientCertificateRequest) => Promise<ClientCredential | null>

export interface ClientConfig {
  /** Host name or IP address the server certificate must match; a host name is also sent as SNI. */
  readonly serverName: string
  readonly verifier: CertificateVerifier
  readonly cipherSuites: ReadonlyArray<CipherSuite>
  /** Groups offered in supported_groups, in preference order; only the first gets a key share up front. */
  readonly groups: ReadonlyArray<NamedGroup>
  readonly clientCertificate: ClientCertificateCallback | undefined
}
