// What every server handshake state may act on: the server configuration of this connection in the shared
// handshake context (transcript and record layer operations).
import type { HandshakeContext } from "../HandshakeContext.js"
import type { ServerConfig } from "./ServerConfig.js"

export type ServerContext = HandshakeContext<ServerConfig>
