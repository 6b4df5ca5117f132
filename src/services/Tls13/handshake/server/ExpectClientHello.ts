// Waiting for the ClientHello that opens the connection. An acceptable one is answered with the whole
// server flight; one without a key share for a group both sides support gets a HelloRetryRequest.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { decodeClientHello } from "../../messages/ClientHello.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { encodeHelloRetryRequest } from "../../messages/ServerHello.js"
import { unexpected } from "../HandshakeState.js"
import { ExpectSecondClientHello } from "./ExpectSecondClientHello.js"
import { negotiate } from "./Negotiation.js"
import type { ServerContext } from "./ServerContext.js"
import { sendServerFlight } from "./ServerFlight.js"
import type { ServerState } from "./ServerState.js"

export class ExpectClientHello implements ServerState {
  readonly name = "ExpectClientHello"

  handle(message: HandshakeMessage, context: ServerContext): ServerState {
    if (message.type !== HandshakeType.client_hello) throw unexpected(this, message)
    const hello = decodeClientHello(message.body)
    const { clientShare, parameters } = negotiate(hello, context.config)
    context.transcript.add(message.raw)
    if (clientShare !== undefined) return sendServerFlight(hello, parameters, clientShare, false, context)
    context.transcript.replaceWithMessageHash(parameters.suite.hash)
    context.sendHandshake(
      encodeHelloRetryRequest({
        sessionIdEcho: hello.sessionId,
        cipherSuite: parameters.suite.code,
        selectedGroup: parameters.group,
        cookie: undefined
      })
    )
    return new ExpectSecondClientHello(hello, parameters)
  }
}
