// The server handshake is over: the only handshake message a client may still send is KeyUpdate, which moves
// its key forward and, when asked, ours too. The server can also start an update of its own.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { decodeKeyUpdate, type KeyUpdateRequest } from "../../messages/KeyUpdate.js"
import type { ApplicationTraffic } from "../ApplicationTraffic.js"
import { unexpected } from "../HandshakeState.js"
import type { ServerContext } from "./ServerContext.js"
import type { ServerSession } from "./ServerSession.js"
import type { ServerState } from "./ServerState.js"

export class Connected implements ServerState {
  readonly name = "Connected"

  constructor(
    readonly session: ServerSession,
    readonly traffic: ApplicationTraffic
  ) {}

  handle(message: HandshakeMessage, context: ServerContext): ServerState {
    if (message.type !== HandshakeType.key_update) throw unexpected(this, message)
    return new Connected(this.session, this.traffic.peerUpdated(decodeKeyUpdate(message.body), context.records))
  }

  /** Sends a KeyUpdate and moves our sending key forward. */
  updateKeys(request: KeyUpdateRequest, context: ServerContext): Connected {
    return new Connected(this.session, this.traffic.update(request, context.records))
  }
}
