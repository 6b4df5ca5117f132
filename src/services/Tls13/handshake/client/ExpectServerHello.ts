// Waiting for the ServerHello (or a HelloRetryRequest) after sending a ClientHello.
// Checks every choice the server made against what was offered, then moves to handshake traffic keys.
import { cipherSuiteByCode, type CipherSuite } from "../../CipherSuite.js"
import type { HandshakeMessage } from "../../HandshakeReader.js"
import * as KeySchedule from "../../KeySchedule.js"
import { type ClientHello, encodeClientHello } from "../../messages/ClientHello.js"
import { ExtensionType, tls13Version } from "../../messages/Extension.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { decodeServerHello, type HelloRetryRequest, type ServerHello } from "../../messages/ServerHello.js"
import { generateKeyShare, isNamedGroup, type KeyShare } from "../../NamedGroup.js"
import { HandshakeFailure, IllegalParameter, UnexpectedMessage } from "../../Tls13Error.js"
import type { ClientContext } from "./ClientContext.js"
import type { ClientState } from "./ClientState.js"
import { unexpected } from "./ClientState.js"
import { ExpectEncryptedExtensions } from "./ExpectEncryptedExtensions.js"

const serverHelloExtensions: ReadonlyArray<number> = [ExtensionType.supported_versions, ExtensionType.key_share]
const retryExtensions: ReadonlyArray<number> = [
  ExtensionType.supported_versions,
  ExtensionType.key_share,
  ExtensionType.cookie
]

export class ExpectServerHello implements ClientState {
  readonly name = "ExpectServerHello"

  constructor(
    private readonly hello: ClientHello,
    private readonly keyShares: ReadonlyArray<KeyShare>,
    /** The HelloRetryRequest already answered, if any: a second one is an error. */
    private readonly retry: HelloRetryRequest | undefined
  ) {}

  handle(message: HandshakeMessage, context: ClientContext): ClientState {
    if (message.type !== HandshakeType.server_hello) throw unexpected(this, message)
    const hello = decodeServerHello(message.body)
    const suite = this.checkCommon(hello, hello._tag === "ServerHello" ? serverHelloExtensions : retryExtensions)
    return hello._tag === "HelloRetryRequest"
      ? this.retryWith(hello, suite, message, context)
      : this.proceed(hello, suite, message, context)
  }

  private checkCommon(hello: ServerHello | HelloRetryRequest, allowed: ReadonlyArray<number>): CipherSuite {
    if (hello.selectedVersion !== tls13Version) {
      throw new HandshakeFailure({ reason: "server did not select TLS 1.3" })
    }
    if (!Buffer.from(hello.sessionIdEcho).equals(this.hello.sessionId)) {
      throw new IllegalParameter({ reason: "legacy_session_id_echo differs from the ClientHello" })
    }
    const suite = cipherSuiteByCode(hello.cipherSuite)
    if (suite === undefined || !this.hello.cipherSuites.includes(hello.cipherSuite)) {
      throw new IllegalParameter({ reason: `cipher suite 0x${hello.cipherSuite.toString(16)} was not offered` })
    }
    const unsolicited = hello.extensionTypes.find((type) => !allowed.includes(type))
    if (unsolicited !== undefined) throw new IllegalParameter({ reason: `unsolicited extension ${unsolicited}` })
    return suite
  }

  private retryWith(
    retry: HelloRetryRequest,
    suite: CipherSuite,
    message: HandshakeMessage,
    context: ClientContext
  ): ClientState {
    if (this.retry !== undefined) {
      throw new UnexpectedMessage({ state: this.name, received: "a second HelloRetryRequest" })
    }
    const group = retry.selectedGroup
    if (group !== undefined) {
      if (!isNamedGroup(group) || !this.hello.supportedGroups.includes(group)) {
        throw new IllegalParameter({ reason: `HelloRetryRequest selects group 0x${group.toString(16)}, not offered` })
      }
      if (this.keyShares.some((share) => share.group === group)) {
        throw new IllegalParameter({ reason: "HelloRetryRequest asks for a key share already sent" })
      }
    } else if (retry.cookie === undefined) {
      throw new IllegalParameter({ reason: "HelloRetryRequest would not change the ClientHello" })
    }
    const keyShares = group === undefined ? this.keyShares : [generateKeyShare(group)]
    context.transcript.replaceWithMessageHash(suite.hash)
    context.transcript.add(message.raw)
    const hello: ClientHello = {
      ...this.hello,
      keyShares: keyShares.map((share) => ({ group: share.group, keyExchange: share.publicKey })),
      cookie: retry.cookie
    }
    context.sendHandshake(encodeClientHello(hello))
    return new ExpectServerHello(hello, keyShares, retry)
  }

  private proceed(hello: ServerHello, suite: CipherSuite, message: HandshakeMessage, context: ClientContext): ClientState {
    if (this.retry !== undefined && this.retry.cipherSuite !== hello.cipherSuite) {
      throw new IllegalParameter({ reason: "ServerHello cipher suite differs from the HelloRetryRequest" })
    }
    const serverShare = hello.keyShare
    if (serverShare === undefined) throw new HandshakeFailure({ reason: "ServerHello without key_share" })
    const ourShare = this.keyShares.find((share) => share.group === serverShare.group)
    if (ourShare === undefined) {
      throw new IllegalParameter({ reason: `ServerHello key share for group 0x${serverShare.group.toString(16)}` })
    }
    const sharedSecret = ourShare.deriveSharedSecret(serverShare.keyExchange)
    context.transcript.add(message.raw)
    context.transcript.useHash(suite.hash)
    const handshakeSecret = KeySchedule.handshakeSecret(suite, KeySchedule.earlySecret(suite), sharedSecret)
    const traffic = KeySchedule.handshakeTrafficSecrets(suite, handshakeSecret, context.transcript.current())
    context.records.requireRecordBoundary()
    context.records.setReadKey(suite, traffic.server)
    context.records.setWriteKey(suite, traffic.client)
    return new ExpectEncryptedExtensions({
      suite,
      handshakeSecret,
      clientTraffic: traffic.client,
      serverTraffic: traffic.server
    })
  }
}
