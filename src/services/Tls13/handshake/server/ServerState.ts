// The server handshake as a state machine with one state per expected message (RFC 8446 appendix A.2).
// A state consumes one client message and returns the next state; the client Finished waits for the
// application's verdict on the client certificate and returns a promise of the next state.
import type { HandshakeState } from "../HandshakeState.js"
import type { ServerContext } from "./ServerContext.js"

export interface ServerState extends HandshakeState<ServerContext, ServerState> {}
