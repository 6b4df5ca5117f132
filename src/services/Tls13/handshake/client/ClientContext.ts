// What every client handshake state may act on: the client configuration in the shared handshake context
// (transcript and record layer operations). Owned by the connection; states hold no I/O of their own.
import type { HandshakeContext } from "../HandshakeContext.js"
import type { ClientConfig } from "./ClientConfig.js"

export type ClientContext = HandshakeContext<ClientConfig>
