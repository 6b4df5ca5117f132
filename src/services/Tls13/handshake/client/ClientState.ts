// The client handshake as a state machine with one state per expected message (RFC 8446 appendix A.1).
// A state consumes one handshake message and returns the next state; a state that has to wait for the
// application (the client certificate callback) returns a promise of it.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { handshakeTypeName } from "../../messages/HandshakeType.js"
import { UnexpectedMessage } from "../../Tls13Error.js"
import type { ClientContext } from "./ClientContext.js"

export interface ClientState {
  readonly name: string
  handle(message: HandshakeMessage, context: ClientContext): ClientState | Promise<ClientState>
}

/** The error for a message the current state does not expect. */
export const unexpected = (state: ClientState, message: HandshakeMessage): UnexpectedMessage =>
  new UnexpectedMessage({ state: state.name, received: handshakeTypeName(message.type) })
