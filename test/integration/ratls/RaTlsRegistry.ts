// A registry stand-in that authenticates clients the RA-TLS way, on the project's own TLS 1.3 server: a fresh
// base64 challenge per connection in certificate_authorities, then the checks of RA-TLS.md section 4 on the
// client certificate (token extension, token signatures, binding to challenge and key). It serves a tag list.
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { Effect, Either } from "effect"
import * as crypto from "node:crypto"
import * as http from "node:http"
import type * as net from "node:net"
import type { KeyObject } from "node:crypto"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"
import * as CcaVerification from "../../../src/domain/cca/CcaVerification.js"
import type { ReferenceValues } from "../../../src/domain/cca/ReferenceValues.js"
import * as RaTlsChallenge from "../../../src/services/RaTlsCredentials/RaTlsChallenge.js"
import { listenTls13Scoped } from "../../../src/services/Tls13/Tls13Server.js"
import { issueServer, makeRootCa } from "../../unit/tls13/TestPki.js"

export interface SeenClient {
  readonly challenge: Uint8Array
  readonly certificateDer: Uint8Array
  /** Undefined when the client passed every check. */
  readonly rejection: string | undefined
}

export interface RaTlsRegistryOptions {
  /** certificate_authorities entries per request; RA-TLS sends exactly one. */
  readonly authorities?: number
  /** Check SHA-512(challenge || SPKI) against the realm challenge; default true. */
  readonly checkBinding?: boolean
  readonly platformKey?: KeyObject
  readonly referenceValues?: ReferenceValues
  /** After each response, close the TCP connection without close_notify, as some servers do. */
  readonly closeWithoutNotify?: boolean
}

export interface RaTlsRegistry {
  readonly host: string
  readonly rootPem: string
  readonly seen: Array<SeenClient>
  /** Handshakes that completed. */
  readonly connections: () => number
  readonly requests: Array<string>
}

const verdict = (challenge: Uint8Array, certificateDer: Uint8Array, options: RaTlsRegistryOptions): string | undefined => {
  const certificate = new x509.X509Certificate(certificateDer)
  const extension = certificate.getExtension("1.3.3.3.7")
  if (extension === null) return "no 1.3.3.3.7 extension"
  const token = CcaToken.decode(new Uint8Array(extension.value))
  if (Either.isLeft(token)) return token.left.message
  const spki = new crypto.X509Certificate(certificateDer).publicKey.export({ type: "spki", format: "der" })
  const checked = CcaVerification.verify(token.right, {
    ...(options.checkBinding === false ? {} : { realmChallenge: CcaVerification.realmChallengeFor(challenge, spki) }),
    ...(options.platformKey === undefined ? {} : { platformKey: options.platformKey }),
    ...(options.referenceValues === undefined ? {} : { referenceValues: options.referenceValues })
  })
  return Either.isLeft(checked) ? checked.left.message : undefined
}

export const raTlsRegistry = (options: RaTlsRegistryOptions = {}) =>
  Effect.gen(function* () {
    const root = yield* Effect.promise(() => makeRootCa("RA-TLS Test Root"))
    const leaf = yield* Effect.promise(() => issueServer(root))
    const seen: Array<SeenClient> = []
    const requests: Array<string> = []
    let connections = 0
    const web = http.createServer((request, response) => {
      requests.push(request.url ?? "")
      if (options.closeWithoutNotify === true) {
        // The TCP socket under the TLS one (a protected field of the engine's Duplex) is ended directly.
        const tcp = (request.socket as unknown as { readonly socket: net.Socket }).socket
        response.once("finish", () => tcp.end())
      }
      response.setHeader("content-type", "application/json")
      if (request.url?.startsWith("/v2/app/tags/list")) {
        response.end(JSON.stringify({ name: "app", tags: ["latest", "v1", "v2"] }))
      } else {
        response.statusCode = 404
        response.end(JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }] }))
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => web.closeAllConnections()))
    const running = yield* listenTls13Scoped(
      {
        certificateChainPem: leaf.certificatePem,
        privateKeyPem: leaf.privateKeyPem,
        certificateRequest: () => ({
          certificateAuthorities: Array.from({ length: options.authorities ?? 1 }, () => RaTlsChallenge.encode(crypto.randomBytes(64))),
          required: true
        }),
        verifyClient: async ({ certificateAuthorities, chainDer }) => {
          const challenge = Either.getOrThrow(RaTlsChallenge.decode(certificateAuthorities[0]!))
          const rejection = verdict(challenge, chainDer[0]!, options)
          seen.push({ challenge, certificateDer: chainDer[0]!, rejection })
          return rejection === undefined ? undefined : { reject: rejection }
        },
        onHandshakeError: () => {}
      },
      (socket) => {
        connections++
        web.emit("connection", socket)
      }
    )
    return {
      host: `127.0.0.1:${running.port}`,
      rootPem: root.certificatePem,
      seen,
      connections: () => connections,
      requests
    } satisfies RaTlsRegistry
  })
