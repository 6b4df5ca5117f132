// A handshake as a state machine with one state per expected message (RFC 8446 appendix A), in either role.
// A state consumes one handshake message and returns the next state; a state that has to wait for the
// application (a certificate or verification callback) returns a promise of it.
import type { HandshakeMessage } from "../HandshakeReader.js"
import { handshakeTypeName } from "../messages/HandshakeType.js"
import { UnexpectedMessage } from "../Tls13Error.js"

export interface HandshakeState<Context, Next> {
  readonly name: string
  handle(message: HandshakeMessage, context: Context): Next | Promise<Next>
}

/** The error for a message the current state does not expect. */
export const unexpected = (state: { readonly name: string }, message: HandshakeMessage): UnexpectedMessage =>
  new UnexpectedMessage({ state: state.name, received: handshakeTypeName(message.type) })
