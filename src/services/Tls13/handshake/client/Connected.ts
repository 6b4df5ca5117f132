// The handshake is over: only post-handshake messages remain. Tickets are dropped (no resumption) and
// KeyUpdate moves the receiving key forward, answering with our own update when the server asks.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { decodeKeyUpdate } from "../../messages/KeyUpdate.js"
import { decodeNewSessionTicket } from "../../messages/NewSessionTicket.js"
import type { ApplicationTraffic } from "../ApplicationTraffic.js"
import type { ClientContext } from "./ClientContext.js"
import type { ClientState } from "./ClientState.js"
import { unexpected } from "./ClientState.js"

export class Connected implements ClientState {
  readonly name = "Connected"

  constructor(private readonly traffic: ApplicationTraffic) {}

  handle(message: HandshakeMessage, context: ClientContext): ClientState {
    switch (message.type) {
      case HandshakeType.new_session_ticket:
        decodeNewSessionTicket(message.body)
        return this
      case HandshakeType.key_update:
        return new Connected(this.traffic.peerUpdated(decodeKeyUpdate(message.body), context.records))
      default:
        throw unexpected(this, message)
    }
  }
}
