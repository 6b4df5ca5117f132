// Waiting for the server's Certificate: the chain is verified against the configured roots and host here.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { decodeCertificate } from "../../messages/Certificate.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { IllegalParameter } from "../../Tls13Error.js"
import type { HandshakeSecrets } from "../HandshakeSecrets.js"
import type { ClientAuthentication } from "./ClientAuthentication.js"
import type { ClientContext } from "./ClientContext.js"
import type { ClientState } from "./ClientState.js"
import { unexpected } from "./ClientState.js"
import { ExpectCertificateVerify } from "./ExpectCertificateVerify.js"

export class ExpectCertificate implements ClientState {
  readonly name = "ExpectCertificate"

  constructor(
    private readonly secrets: HandshakeSecrets,
    private readonly clientAuthentication: ClientAuthentication | undefined
  ) {}

  handle(message: HandshakeMessage, context: ClientContext): ClientState {
    if (message.type !== HandshakeType.certificate) throw unexpected(this, message)
    const certificate = decodeCertificate(message.body)
    if (certificate.context.length !== 0) {
      throw new IllegalParameter({ reason: "server Certificate with a non-empty request context" })
    }
    const leaf = context.config.verifier.verify(certificate.certificates, context.config.serverName)
    context.transcript.add(message.raw)
    return new ExpectCertificateVerify(this.secrets, this.clientAuthentication, leaf.publicKey)
  }
}
