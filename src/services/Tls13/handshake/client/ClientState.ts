// The client handshake as a state machine with one state per expected message (RFC 8446 appendix A.1).
// A state consumes one handshake message and returns the next state; a state that has to wait for the
// application (the client certificate callback) returns a promise of it.
import type { HandshakeState } from "../HandshakeState.js"
import type { ClientContext } from "./ClientContext.js"

export interface ClientState extends HandshakeState<ClientContext, ClientState> {}

export { unexpected } from "../HandshakeState.js"
