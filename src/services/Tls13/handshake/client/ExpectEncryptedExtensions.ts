// Waiting for EncryptedExtensions, the first message under the server's handshake traffic key.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { decodeEncryptedExtensions } from "../../messages/EncryptedExtensions.js"
import { ExtensionType } from "../../messages/Extension.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { IllegalParameter } from "../../Tls13Error.js"
import type { HandshakeSecrets } from "../HandshakeSecrets.js"
import type { ClientContext } from "./ClientContext.js"
import type { ClientState } from "./ClientState.js"
import { unexpected } from "./ClientState.js"
import { ExpectCertificateOrCertificateRequest } from "./ExpectCertificateOrCertificateRequest.js"

/** The ClientHello extensions a server may answer here; anything else was never asked for. */
const answerable: ReadonlyArray<number> = [ExtensionType.server_name, ExtensionType.supported_groups]

export class ExpectEncryptedExtensions implements ClientState {
  readonly name = "ExpectEncryptedExtensions"

  constructor(private readonly secrets: HandshakeSecrets) {}

  handle(message: HandshakeMessage, context: ClientContext): ClientState {
    if (message.type !== HandshakeType.encrypted_extensions) throw unexpected(this, message)
    const { extensionTypes } = decodeEncryptedExtensions(message.body)
    const unsolicited = extensionTypes.find((type) => !answerable.includes(type))
    if (unsolicited !== undefined) throw new IllegalParameter({ reason: `unsolicited extension ${unsolicited}` })
    context.transcript.add(message.raw)
    return new ExpectCertificateOrCertificateRequest(this.secrets)
  }
}
