// Waiting for the server Finished. Once it verifies, the application secrets are fixed and the client sends
// its own flight: the certificate and its proof when the server asked for one, then Finished.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import * as KeySchedule from "../../KeySchedule.js"
import { encodeCertificate } from "../../messages/Certificate.js"
import { encodeCertificateVerify } from "../../messages/CertificateVerify.js"
import { checkFinished, encodeFinished } from "../../messages/Finished.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { chooseScheme, sign, signedContent } from "../../SignatureScheme.js"
import { ClientCertificateFailed, HandshakeFailure } from "../../Tls13Error.js"
import { ApplicationTraffic } from "../ApplicationTraffic.js"
import type { HandshakeSecrets } from "../HandshakeSecrets.js"
import type { ClientAuthentication } from "./ClientAuthentication.js"
import type { ClientContext } from "./ClientContext.js"
import type { ClientState } from "./ClientState.js"
import { unexpected } from "./ClientState.js"
import { Connected } from "./Connected.js"

export class ExpectFinished implements ClientState {
  readonly name = "ExpectFinished"

  constructor(
    private readonly secrets: HandshakeSecrets,
    private readonly clientAuthentication: ClientAuthentication | undefined
  ) {}

  handle(message: HandshakeMessage, context: ClientContext): ClientState | Promise<ClientState> {
    if (message.type !== HandshakeType.finished) throw unexpected(this, message)
    const { suite } = this.secrets
    checkFinished(message.body, KeySchedule.finishedVerifyData(suite, this.secrets.serverTraffic, context.transcript.current()), "server")
    context.transcript.add(message.raw)
    const master = KeySchedule.masterSecret(suite, this.secrets.handshakeSecret)
    const application = KeySchedule.applicationTrafficSecrets(suite, master, context.transcript.current())
    context.records.requireRecordBoundary()
    context.records.setReadKey(suite, application.server)
    const finish = (): ClientState => {
      const verifyData = KeySchedule.finishedVerifyData(suite, this.secrets.clientTraffic, context.transcript.current())
      context.sendHandshake(encodeFinished(verifyData))
      context.records.setWriteKey(suite, application.client)
      return new Connected(new ApplicationTraffic(suite, application.client, application.server))
    }
    const authentication = this.clientAuthentication
    if (authentication === undefined) return finish()
    return authentication.credential.then((credential) => {
      if (credential instanceof ClientCertificateFailed) throw credential
      const requestContext = authentication.request.context
      if (credential === null) {
        context.sendHandshake(encodeCertificate({ context: requestContext, certificates: [] }))
        return finish()
      }
      const scheme = chooseScheme(credential.privateKey, authentication.request.signatureAlgorithms)
      if (scheme === undefined) {
        throw new HandshakeFailure({ reason: "the server accepts no signature scheme the client key can make" })
      }
      context.sendHandshake(encodeCertificate({ context: requestContext, certificates: credential.chainDer }))
      const signature = sign(scheme, credential.privateKey, signedContent("client", context.transcript.current()))
      context.sendHandshake(encodeCertificateVerify({ scheme, signature }))
      return finish()
    })
  }
}
