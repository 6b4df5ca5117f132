// Waiting for the client's CertificateVerify: proof that the client holds the key of the certificate it
// sent (RFC 8446 section 4.4.3, client context string). Once proven, the chain goes to the verifier.
import type * as crypto from "node:crypto"
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { decodeCertificateVerify } from "../../messages/CertificateVerify.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { signedContent, verifySignature } from "../../SignatureScheme.js"
import { DecryptError, IllegalParameter } from "../../Tls13Error.js"
import { unexpected } from "../HandshakeState.js"
import { startClientVerification } from "./ClientVerification.js"
import { ExpectClientFinished } from "./ExpectClientFinished.js"
import { clientSignatureSchemes } from "./ServerConfig.js"
import type { ServerContext } from "./ServerContext.js"
import type { SentFlight } from "./ServerFlight.js"
import type { ServerState } from "./ServerState.js"

export class ExpectClientCertificateVerify implements ServerState {
  readonly name = "ExpectClientCertificateVerify"

  constructor(
    private readonly flight: SentFlight,
    private readonly clientKey: crypto.KeyObject
  ) {}

  handle(message: HandshakeMessage, context: ServerContext): ServerState {
    if (message.type !== HandshakeType.certificate_verify) throw unexpected(this, message)
    const { scheme, signature } = decodeCertificateVerify(message.body)
    if (!clientSignatureSchemes.includes(scheme)) {
      throw new IllegalParameter({ reason: `client signs with scheme 0x${scheme.toString(16)}, not requested` })
    }
    const content = signedContent("client", context.transcript.current())
    if (!verifySignature(scheme, this.clientKey, content, signature)) {
      throw new DecryptError({ reason: "client CertificateVerify signature does not verify" })
    }
    context.transcript.add(message.raw)
    const { session } = this.flight
    const verifier = context.config.verifyClient
    const verdict =
      verifier === undefined
        ? undefined
        : startClientVerification(verifier, {
            chainDer: session.clientChainDer,
            certificateAuthorities: session.certificateAuthorities
          })
    return new ExpectClientFinished(this.flight, verdict)
  }
}
