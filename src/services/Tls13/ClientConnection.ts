// The client side of a TLS 1.3 connection without I/O of its own: the role-independent core driven by the
// client handshake states, which start by sending the ClientHello. Every failure ends as one typed error
// after alerting the server.
import type { CertificateError } from "./CertificateVerifier.js"
import type { ClientConfig } from "./handshake/client/ClientConfig.js"
import { startClientHandshake } from "./handshake/client/ClientHandshake.js"
import type { ClientState } from "./handshake/client/ClientState.js"
import { Connected } from "./handshake/client/Connected.js"
import { AlertDescription } from "./messages/Alert.js"
import { type ConnectionCallbacks, Tls13Connection } from "./Tls13Connection.js"
import type {
  AlertReceived,
  ClientCertificateFailed,
  HandshakeAborted,
  ProtocolError,
  TransportError,
  TruncatedStream
} from "./Tls13Error.js"

export type { ConnectionCallbacks } from "./Tls13Connection.js"

export type Tls13Failure =
  | ProtocolError
  | CertificateError
  | AlertReceived
  | TruncatedStream
  | HandshakeAborted
  | ClientCertificateFailed
  | TransportError

const clientAlerts: Record<CertificateError["_tag"] | ClientCertificateFailed["_tag"], AlertDescription> = {
  EmptyCertificateChain: AlertDescription.decode_error,
  MalformedCertificate: AlertDescription.bad_certificate,
  UntrustedRoot: AlertDescription.unknown_ca,
  CertificateExpired: AlertDescription.certificate_expired,
  CertificateNotYetValid: AlertDescription.bad_certificate,
  NotACa: AlertDescription.bad_certificate,
  BadSignature: AlertDescription.bad_certificate,
  HostnameMismatch: AlertDescription.bad_certificate,
  ClientCertificateFailed: AlertDescription.internal_error
}

export class ClientConnection extends Tls13Connection<ClientConfig, ClientState> {
  constructor(config: ClientConfig, callbacks: ConnectionCallbacks) {
    super({ config, isConnected: (state) => state instanceof Connected, alerts: clientAlerts }, callbacks)
  }

  /** Sends the ClientHello. */
  start(): void {
    this.begin(() => startClientHandshake(this.context))
  }
}
