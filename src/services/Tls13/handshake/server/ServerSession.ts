// What a server handshake negotiated and learnt about the client, filled in as the handshake goes and
// exposed once it completes.
import type { CipherSuite } from "../../CipherSuite.js"
import type { NamedGroup } from "../../NamedGroup.js"

export interface ServerSession {
  readonly cipherSuite: CipherSuite
  readonly group: NamedGroup
  /** The scheme of the server's CertificateVerify. */
  readonly signatureScheme: number
  readonly serverName: string | undefined
  /** The client first sent no usable key share and was asked again. */
  readonly helloRetryRequested: boolean
  /** What this connection's CertificateRequest carried; empty when no certificate was requested. */
  readonly certificateAuthorities: ReadonlyArray<Uint8Array>
  /** The client's DER chain, its own certificate first; empty when it sent none or was not asked. */
  readonly clientChainDer: ReadonlyArray<Uint8Array>
}
