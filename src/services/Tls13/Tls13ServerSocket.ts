// The TLS 1.3 server engine as a node:stream Duplex over an accepted net.Socket: 'secure' when the client's
// Finished (and its certificate, when asked for) checked out, then plaintext both ways. Shaped like a
// tls.TLSSocket far enough that `httpServer.emit("connection", socket)` lets node:http serve over it.
import type * as net from "node:net"
import type { KeyGenerations } from "./handshake/ApplicationTraffic.js"
import type { ServerConfig } from "./handshake/server/ServerConfig.js"
import type { ServerSession } from "./handshake/server/ServerSession.js"
import { ServerConnection } from "./ServerConnection.js"
import { Tls13Duplex } from "./Tls13Duplex.js"

export class Tls13ServerSocket extends Tls13Duplex<ServerConnection> {
  /** `handshakeTimeout` in milliseconds bounds how long a client may take to finish its handshake. */
  constructor(socket: net.Socket, config: ServerConfig, handshakeTimeout: number | undefined) {
    super(
      socket,
      (callbacks) => new ServerConnection(config, callbacks),
      handshakeTimeout === undefined ? {} : { timeout: handshakeTimeout }
    )
  }

  protected announceSecure(): void {
    this.emit("secure")
  }

  /** What the handshake negotiated and the client's chain; undefined before 'secure'. */
  get session(): ServerSession | undefined {
    return this.connection.session
  }

  get keyGenerations(): KeyGenerations | undefined {
    return this.connection.keyGenerations
  }

  /** Sends a KeyUpdate (see ServerConnection.updateKeys); only after 'secure'. */
  updateKeys(requestPeerUpdate: boolean): void {
    this.connection.updateKeys(requestPeerUpdate)
  }
}
