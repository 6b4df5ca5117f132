// The handshake is over: only post-handshake messages remain. Tickets are dropped (no resumption) and
// KeyUpdate moves the receiving key forward, answering with our own update when the server asks.
import type { CipherSuite } from "../../CipherSuite.js"
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { nextApplicationTrafficSecret } from "../../KeySchedule.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { decodeKeyUpdate, encodeKeyUpdate, KeyUpdateRequest } from "../../messages/KeyUpdate.js"
import { decodeNewSessionTicket } from "../../messages/NewSessionTicket.js"
import { ContentType } from "../../RecordLayer.js"
import type { ClientContext } from "./ClientContext.js"
import type { ClientState } from "./ClientState.js"
import { unexpected } from "./ClientState.js"

export class Connected implements ClientState {
  readonly name = "Connected"

  constructor(
    private readonly suite: CipherSuite,
    private readonly clientTraffic: Uint8Array,
    private readonly serverTraffic: Uint8Array
  ) {}

  handle(message: HandshakeMessage, context: ClientContext): ClientState {
    switch (message.type) {
      case HandshakeType.new_session_ticket:
        decodeNewSessionTicket(message.body)
        return this
      case HandshakeType.key_update: {
        const request = decodeKeyUpdate(message.body)
        context.records.requireRecordBoundary()
        const serverTraffic = nextApplicationTrafficSecret(this.suite, this.serverTraffic)
        context.records.setReadKey(this.suite, serverTraffic)
        if (request === KeyUpdateRequest.update_not_requested) {
          return new Connected(this.suite, this.clientTraffic, serverTraffic)
        }
        context.records.send(ContentType.handshake, encodeKeyUpdate(KeyUpdateRequest.update_not_requested))
        const clientTraffic = nextApplicationTrafficSecret(this.suite, this.clientTraffic)
        context.records.setWriteKey(this.suite, clientTraffic)
        return new Connected(this.suite, clientTraffic, serverTraffic)
      }
      default:
        throw unexpected(this, message)
    }
  }
}
