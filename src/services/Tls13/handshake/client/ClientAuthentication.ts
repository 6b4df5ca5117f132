// A server's request for a client certificate, with the application's answer already on its way: the
// callback is started when the CertificateRequest arrives and awaited only when the client flight is sent.
import type { CertificateRequest } from "../../messages/CertificateRequest.js"
import { ClientCertificateFailed } from "../../Tls13Error.js"
import type { ClientCredential } from "./ClientConfig.js"
import type { ClientContext } from "./ClientContext.js"

export interface ClientAuthentication {
  readonly request: CertificateRequest
  /** Settles to the credential (or null); a failing callback is turned into ClientCertificateFailed. */
  readonly credential: Promise<ClientCredential | null | ClientCertificateFailed>
}

export const requestClientCertificate = (request: CertificateRequest, context: ClientContext): ClientAuthentication => {
  const callback = context.config.clientCertificate
  const answer = (): Promise<ClientCredential | null> =>
    callback === undefined
      ? Promise.resolve(null)
      : callback({
          certificateAuthorities: request.certificateAuthorities,
          signatureAlgorithms: request.signatureAlgorithms,
          context: request.context
        })
  return {
    request,
    credential: Promise.resolve()
      .then(answer)
      .catch((cause: unknown) => new ClientCertificateFailed({ cause }))
  }
}
