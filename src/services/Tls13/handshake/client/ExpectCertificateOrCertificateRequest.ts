// After EncryptedExtensions the server either asks for a client certificate or sends its own.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { decodeCertificateRequest } from "../../messages/CertificateRequest.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { IllegalParameter } from "../../Tls13Error.js"
import type { HandshakeSecrets } from "../HandshakeSecrets.js"
import { requestClientCertificate } from "./ClientAuthentication.js"
import type { ClientContext } from "./ClientContext.js"
import type { ClientState } from "./ClientState.js"
import { unexpected } from "./ClientState.js"
import { ExpectCertificate } from "./ExpectCertificate.js"

export class ExpectCertificateOrCertificateRequest implements ClientState {
  readonly name = "ExpectCertificateOrCertificateRequest"

  constructor(private readonly secrets: HandshakeSecrets) {}

  handle(message: HandshakeMessage, context: ClientContext): ClientState {
    switch (message.type) {
      case HandshakeType.certificate:
        return new ExpectCertificate(this.secrets, undefined).handle(message, context)
      case HandshakeType.certificate_request: {
        const request = decodeCertificateRequest(message.body)
        if (request.context.length !== 0) {
          throw new IllegalParameter({ reason: "handshake CertificateRequest with a non-empty context" })
        }
        context.transcript.add(message.raw)
        return new ExpectCertificate(this.secrets, requestClientCertificate(request, context))
      }
      default:
        throw unexpected(this, message)
    }
  }
}
