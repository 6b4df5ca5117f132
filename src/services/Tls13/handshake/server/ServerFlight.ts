// The server's answer to an acceptable ClientHello (RFC 8446 section 4.1.3 to 4.4.4): ServerHello in the
// clear, then under the handshake key EncryptedExtensions, the optional CertificateRequest, Certificate,
// CertificateVerify and Finished. After it the server writes under its application key and waits for the
// client's flight.
import * as crypto from "node:crypto"
import * as KeySchedule from "../../KeySchedule.js"
import { encodeCertificate } from "../../messages/Certificate.js"
import { encodeCertificateRequest } from "../../messages/CertificateRequest.js"
import { encodeCertificateVerify } from "../../messages/CertificateVerify.js"
import type { ClientHello, KeyShareEntry } from "../../messages/ClientHello.js"
import { encodeEmptyEncryptedExtensions } from "../../messages/EncryptedExtensions.js"
import { encodeFinished } from "../../messages/Finished.js"
import { encodeServerHello } from "../../messages/ServerHello.js"
import { generateKeyShare } from "../../NamedGroup.js"
import { sign, signedContent } from "../../SignatureScheme.js"
import type { HandshakeSecrets } from "../HandshakeSecrets.js"
import { ExpectClientCertificate } from "./ExpectClientCertificate.js"
import { ExpectClientFinished } from "./ExpectClientFinished.js"
import type { Parameters } from "./Negotiation.js"
import { clientSignatureSchemes } from "./ServerConfig.js"
import type { ServerContext } from "./ServerContext.js"
import type { ServerSession } from "./ServerSession.js"
import type { ServerState } from "./ServerState.js"

/** What the server flight fixed for the rest of the handshake. */
export interface SentFlight {
  readonly secrets: HandshakeSecrets
  readonly application: KeySchedule.TrafficSecrets
  readonly session: ServerSession
}

const emptyContext = new Uint8Array(0)

export const sendServerFlight = (
  hello: ClientHello,
  parameters: Parameters,
  clientShare: KeyShareEntry,
  helloRetryRequested: boolean,
  context: ServerContext
): ServerState => {
  const { config } = context
  const { suite } = parameters
  const share = generateKeyShare(parameters.group)
  const sharedSecret = share.deriveSharedSecret(clientShare.keyExchange)
  context.sendHandshake(
    encodeServerHello({
      random: crypto.randomBytes(32),
      sessionIdEcho: hello.sessionId,
      cipherSuite: suite.code,
      keyShare: { group: share.group, keyExchange: share.publicKey }
    })
  )
  context.transcript.useHash(suite.hash)
  const handshakeSecret = KeySchedule.handshakeSecret(suite, KeySchedule.earlySecret(suite), sharedSecret)
  const traffic = KeySchedule.handshakeTrafficSecrets(suite, handshakeSecret, context.transcript.current())
  context.records.requireRecordBoundary()
  context.records.setReadKey(suite, traffic.client)
  context.records.setWriteKey(suite, traffic.server)

  context.sendHandshake(encodeEmptyEncryptedExtensions())
  const request = config.certificateRequest
  if (request !== undefined) {
    context.sendHandshake(
      encodeCertificateRequest({
        context: emptyContext,
        signatureAlgorithms: clientSignatureSchemes,
        signatureAlgorithmsCert: [],
        certificateAuthorities: request.certificateAuthorities
      })
    )
  }
  context.sendHandshake(encodeCertificate({ context: emptyContext, certificates: config.credential.chainDer }))
  const signature = sign(
    parameters.signatureScheme,
    config.credential.privateKey,
    signedContent("server", context.transcript.current())
  )
  context.sendHandshake(encodeCertificateVerify({ scheme: parameters.signatureScheme, signature }))
  context.sendHandshake(
    encodeFinished(KeySchedule.finishedVerifyData(suite, traffic.server, context.transcript.current()))
  )

  const master = KeySchedule.masterSecret(suite, handshakeSecret)
  const application = KeySchedule.applicationTrafficSecrets(suite, master, context.transcript.current())
  context.records.setWriteKey(suite, application.server)
  const flight: SentFlight = {
    secrets: { suite, handshakeSecret, clientTraffic: traffic.client, serverTraffic: traffic.server },
    application,
    session: {
      cipherSuite: suite,
      group: parameters.group,
      signatureScheme: parameters.signatureScheme,
      serverName: hello.serverName,
      helloRetryRequested,
      certificateAuthorities: request?.certificateAuthorities ?? [],
      clientChainDer: []
    }
  }
  return request === undefined
    ? new ExpectClientFinished(flight, undefined)
    : new ExpectClientCertificate(flight, request)
}
