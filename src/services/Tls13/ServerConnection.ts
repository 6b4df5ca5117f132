// The server side of a TLS 1.3 connection without I/O of its own: the role-independent core driven by the
// server handshake states, from the ClientHello to the client's Finished. Every failure ends as one typed
// error after alerting the client; once connected the server can start a KeyUpdate of its own.
import { Connected } from "./handshake/server/Connected.js"
import {
  type ClientAuthenticationError,
  clientAuthenticationAlerts
} from "./handshake/server/ClientAuthenticationError.js"
import { ExpectClientHello } from "./handshake/server/ExpectClientHello.js"
import type { ServerConfig } from "./handshake/server/ServerConfig.js"
import type { ServerSession } from "./handshake/server/ServerSession.js"
import type { ServerState } from "./handshake/server/ServerState.js"
import type { KeyGenerations } from "./handshake/ApplicationTraffic.js"
import { KeyUpdateRequest } from "./messages/KeyUpdate.js"
import { type ConnectionCallbacks, Tls13Connection } from "./Tls13Connection.js"
import type {
  AlertReceived,
  HandshakeAborted,
  ProtocolError,
  TransportError,
  TruncatedStream
} from "./Tls13Error.js"

export type ServerFailure =
  | ProtocolError
  | ClientAuthenticationError
  | AlertReceived
  | TruncatedStream
  | HandshakeAborted
  | TransportError

export class ServerConnection extends Tls13Connection<ServerConfig, ServerState> {
  constructor(config: ServerConfig, callbacks: ConnectionCallbacks) {
    super({ config, isConnected: (state) => state instanceof Connected, alerts: clientAuthenticationAlerts }, callbacks)
    this.begin(() => new ExpectClientHello())
  }

  /** What the handshake negotiated and the client's chain; undefined until the handshake completes. */
  get session(): ServerSession | undefined {
    return this.state instanceof Connected ? this.state.session : undefined
  }

  /** How often each direction changed keys since the handshake; undefined until it completes. */
  get keyGenerations(): KeyGenerations | undefined {
    return this.state instanceof Connected ? this.state.traffic.generations : undefined
  }

  /**
   * Sends a KeyUpdate and moves the server's sending key forward; with `requestPeerUpdate` the client must
   * answer with its own. Calling it before the handshake completes is a programming error.
   */
  updateKeys(requestPeerUpdate: boolean): void {
    if (!(this.state instanceof Connected)) throw new Error("KeyUpdate requested before the handshake completed")
    const request = requestPeerUpdate ? KeyUpdateRequest.update_requested : KeyUpdateRequest.update_not_requested
    this.transition((state, context) => (state instanceof Connected ? state.updateKeys(request, context) : state))
  }
}
