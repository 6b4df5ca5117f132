// Waiting for the server's CertificateVerify: proof that the server holds the key of the verified leaf.
import type * as crypto from "node:crypto"
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { decodeCertificateVerify } from "../../messages/CertificateVerify.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { signedContent, verifySignature } from "../../SignatureScheme.js"
import { DecryptError } from "../../Tls13Error.js"
import type { HandshakeSecrets } from "../HandshakeSecrets.js"
import type { ClientAuthentication } from "./ClientAuthentication.js"
import type { ClientContext } from "./ClientContext.js"
import type { ClientState } from "./ClientState.js"
import { unexpected } from "./ClientState.js"
import { ExpectFinished } from "./ExpectFinished.js"

export class ExpectCertificateVerify implements ClientState {
  readonly name = "ExpectCertificateVerify"

  constructor(
    private readonly secrets: HandshakeSecrets,
    private readonly clientAuthentication: ClientAuthentication | undefined,
    private readonly serverKey: crypto.KeyObject
  ) {}

  handle(message: HandshakeMessage, context: ClientContext): ClientState {
    if (message.type !== HandshakeType.certificate_verify) throw unexpected(this, message)
    const { scheme, signature } = decodeCertificateVerify(message.body)
    const content = signedContent("server", context.transcript.current())
    if (!verifySignature(scheme, this.serverKey, content, signature)) {
      throw new DecryptError({ reason: "server CertificateVerify signature does not verify" })
    }
    context.transcript.add(message.raw)
    return new ExpectFinished(this.secrets, this.clientAuthentication)
  }
}
