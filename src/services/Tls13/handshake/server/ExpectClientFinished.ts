// Waiting for the client's Finished, the last handshake message. Once its MAC verifies and the verifier
// (if any) accepted the client's chain, the connection reads under the client's application key.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import * as KeySchedule from "../../KeySchedule.js"
import { checkFinished } from "../../messages/Finished.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { ApplicationTraffic } from "../ApplicationTraffic.js"
import { unexpected } from "../HandshakeState.js"
import type { ClientVerdict } from "./ClientVerification.js"
import { Connected } from "./Connected.js"
import type { ServerContext } from "./ServerContext.js"
import type { SentFlight } from "./ServerFlight.js"
import type { ServerState } from "./ServerState.js"

export class ExpectClientFinished implements ServerState {
  readonly name = "ExpectClientFinished"

  constructor(
    private readonly flight: SentFlight,
    /** Undefined when there is nothing to wait for: no certificate, or no verifier configured. */
    private readonly verdict: ClientVerdict | undefined
  ) {}

  handle(message: HandshakeMessage, context: ServerContext): ServerState | Promise<ServerState> {
    if (message.type !== HandshakeType.finished) throw unexpected(this, message)
    const { application, secrets, session } = this.flight
    const { suite } = secrets
    checkFinished(message.body, KeySchedule.finishedVerifyData(suite, secrets.clientTraffic, context.transcript.current()), "client")
    context.transcript.add(message.raw)
    context.records.requireRecordBoundary()
    context.records.setReadKey(suite, application.client)
    const connected = new Connected(session, new ApplicationTraffic(suite, application.server, application.client))
    if (this.verdict === undefined) return connected
    return this.verdict.then((rejection) => {
      if (rejection !== undefined) throw rejection
      return connected
    })
  }
}
