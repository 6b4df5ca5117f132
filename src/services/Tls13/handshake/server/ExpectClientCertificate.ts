// Waiting for the client's Certificate after a CertificateRequest. An empty one is accepted only when the
// request did not require a certificate; otherwise the leaf must be X.509 so its key can check the proof.
import * as crypto from "node:crypto"
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { decodeCertificate } from "../../messages/Certificate.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { IllegalParameter } from "../../Tls13Error.js"
import { unexpected } from "../HandshakeState.js"
import { BadClientCertificate, CertificateRequired } from "./ClientAuthenticationError.js"
import { ExpectClientCertificateVerify } from "./ExpectClientCertificateVerify.js"
import { ExpectClientFinished } from "./ExpectClientFinished.js"
import type { CertificateRequestPolicy } from "./ServerConfig.js"
import type { ServerContext } from "./ServerContext.js"
import type { SentFlight } from "./ServerFlight.js"
import type { ServerState } from "./ServerState.js"

const parseLeaf = (der: Uint8Array): crypto.X509Certificate => {
  try {
    return new crypto.X509Certificate(der)
  } catch {
    throw new BadClientCertificate({ reason: "the client certificate is not DER X.509" })
  }
}

export class ExpectClientCertificate implements ServerState {
  readonly name = "ExpectClientCertificate"

  constructor(
    private readonly flight: SentFlight,
    private readonly request: CertificateRequestPolicy
  ) {}

  handle(message: HandshakeMessage, context: ServerContext): ServerState {
    if (message.type !== HandshakeType.certificate) throw unexpected(this, message)
    const { certificates, context: requestContext } = decodeCertificate(message.body)
    if (requestContext.length !== 0) {
      throw new IllegalParameter({ reason: "client Certificate answers a request context never sent" })
    }
    context.transcript.add(message.raw)
    const flight: SentFlight = { ...this.flight, session: { ...this.flight.session, clientChainDer: certificates } }
    const leaf = certificates[0]
    if (leaf === undefined) {
      if (this.request.required) throw new CertificateRequired()
      return new ExpectClientFinished(flight, undefined)
    }
    return new ExpectClientCertificateVerify(flight, parseLeaf(leaf).publicKey)
  }
}
