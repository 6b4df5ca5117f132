// The server half of RA-TLS, for the TLS 1.3 engine's server role: a fresh 64-byte challenge per connection,
// sent as the single certificate_authorities entry, and the checks of RA-TLS.md section 4 run in order on the
// certificate the client answers with. The first failing check is the typed reason the client is refused for.
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { Data, Either } from "effect"
import * as crypto from "node:crypto"
import * as CcaToken from "../../src/domain/cca/CcaToken.js"
import * as CcaVerification from "../../src/domain/cca/CcaVerification.js"
import { TokenExtensionOid } from "../../src/services/RaTlsCredentials/RaTlsCertificate.js"
import * as RaTlsChallenge from "../../src/services/RaTlsCredentials/RaTlsChallenge.js"
import type { CertificateRequestPolicy, ClientVerifier } from "../../src/services/Tls13/handshake/server/ServerConfig.js"
import type * as RaTlsPolicy from "./RaTlsPolicy.js"

/** Step 1: the client's certificate is not X.509. */
export class ClientCertificateUnparsable extends Data.TaggedError("ClientCertificateUnparsable")<{
  readonly reason: string
}> {
  override get message(): string {
    return `the client certificate does not parse: ${this.reason}`
  }
}

/** Step 1: an ordinary certificate, with no token in it. */
export class TokenExtensionMissing extends Data.TaggedError("TokenExtensionMissing")<{}> {
  override get message(): string {
    return `the client certificate carries no ${TokenExtensionOid} (attestation token) extension`
  }
}

/** Why a client was refused: the first check of RA-TLS.md section 4 it failed. */
export type RaTlsRejection =
  | ClientCertificateUnparsable
  | TokenExtensionMissing
  | CcaToken.InvalidCcaToken
  | CcaVerification.VerificationError

/** The checks in the order they run; which ones ran depends on the policy. */
export type RaTlsCheck = "token-extension" | "token-format" | CcaVerification.Check

export interface AcceptedClient {
  /** The 64 bytes this connection's challenge encoded. */
  readonly challenge: Uint8Array
  readonly certificateDer: Uint8Array
  /** The verified token: its platform and realm claims are what the client proved. */
  readonly token: CcaToken.CcaToken
  readonly checked: ReadonlyArray<RaTlsCheck>
}

export interface RejectedClient {
  readonly challenge: Uint8Array
  readonly certificateDer: Uint8Array
  readonly rejection: RaTlsRejection
}

export const drawChallenge = (): Uint8Array => new Uint8Array(crypto.randomBytes(RaTlsChallenge.ChallengeLength))

const parseCertificate = (certificateDer: Uint8Array) =>
  Either.try({
    try: () => new x509.X509Certificate(certificateDer),
    catch: (error) => new ClientCertificateUnparsable({ reason: error instanceof Error ? error.message : String(error) })
  })

const checksRun = (policy: RaTlsPolicy.Policy): ReadonlyArray<RaTlsCheck> => [
  "token-extension",
  "token-format",
  "realm-signature",
  ...(policy.platformKey === undefined ? [] : ["platform-signature" as const]),
  "rak-binding",
  ...(policy.binding === "strict" ? ["realm-challenge" as const] : []),
  ...(policy.referenceValues === undefined ? [] : ["reference-values" as const])
]

/**
 * Runs every check the policy asks for, in the reference order, on the certificate answering `challenge`.
 * The certificate's self-signature is not checked: the TLS CertificateVerify has already proved its key.
 */
export const verifyClientCertificate = (
  certificateDer: Uint8Array,
  challenge: Uint8Array,
  policy: RaTlsPolicy.Policy
): Either.Either<AcceptedClient, RaTlsRejection> =>
  Either.gen(function*() {
    const certificate = yield* parseCertificate(certificateDer)
    const extension = certificate.getExtension(TokenExtensionOid)
    if (extension === null) return yield* Either.left(new TokenExtensionMissing())
    const token = yield* CcaToken.decode(new Uint8Array(extension.value))
    // The binding is to the SPKI exactly as the certificate encodes it, which is what the client hashed.
    const spkiDer = new Uint8Array(certificate.publicKey.rawData)
    yield* CcaVerification.verify(token, {
      ...(policy.platformKey === undefined ? {} : { platformKey: policy.platformKey }),
      ...(policy.binding === "strict" ? { realmChallenge: CcaVerification.realmChallengeFor(challenge, spkiDer) } : {}),
      ...(policy.referenceValues === undefined ? {} : { referenceValues: policy.referenceValues })
    })
    return { challenge, certificateDer, token, checked: checksRun(policy) }
  })

/** The reason as the server logs it and the TLS engine reports it: the tag, then what was wrong. */
export const describeRejection = (rejection: RaTlsRejection): string => `${rejection._tag}: ${rejection.message}`

/** JSON with every byte string as lowercase hex, as claims are usually shown. */
export type HexJson<A> = A extends Uint8Array ? string
  : A extends ReadonlyArray<infer E> ? ReadonlyArray<HexJson<E>>
  : A extends object ? { readonly [K in keyof A]: HexJson<A[K]> }
  : A

const toHexJson = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex")
  if (Array.isArray(value)) return value.map(toHexJson)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, toHexJson(entry)]))
  }
  return value
}

/** What an accepted client proved, ready to print: its claims by name, the checks that vouch for them. */
export const verifiedClaims = (client: AcceptedClient): {
  readonly checked: ReadonlyArray<RaTlsCheck>
  readonly realm: HexJson<CcaToken.RealmClaims>
  readonly platform: HexJson<CcaToken.PlatformClaims>
} => ({
  checked: client.checked,
  realm: toHexJson(client.token.realm.claims) as HexJson<CcaToken.RealmClaims>,
  platform: toHexJson(client.token.platform.claims) as HexJson<CcaToken.PlatformClaims>
})

export interface RaTlsVerifier {
  /** For the engine's `certificateRequest`: a fresh challenge, the one entry, a certificate required. */
  readonly certificateRequest: () => CertificateRequestPolicy
  /** For the engine's `verifyClient`: a rejection ends the handshake with access_denied. */
  readonly verifyClient: ClientVerifier
  /** Every client that passed, oldest first. */
  readonly accepted: () => ReadonlyArray<AcceptedClient>
  /** Every client refused, with its typed reason, oldest first. */
  readonly rejected: () => ReadonlyArray<RejectedClient>
}

/** A verifier for one server; it records the verdicts it gives. */
export const make = (policy: RaTlsPolicy.Policy): RaTlsVerifier => {
  const accepted: Array<AcceptedClient> = []
  const rejected: Array<RejectedClient> = []
  return {
    certificateRequest: () => ({ certificateAuthorities: [RaTlsChallenge.encode(drawChallenge())], required: true }),
    verifyClient: async ({ certificateAuthorities, chainDer }) => {
      // The entry is the one this server sent on this connection, so it always decodes.
      const challenge = Either.getOrThrow(RaTlsChallenge.fromCertificateAuthorities(certificateAuthorities))
      const certificateDer = chainDer[0] ?? new Uint8Array(0)
      return Either.match(verifyClientCertificate(certificateDer, challenge, policy), {
        onLeft: (rejection) => {
          rejected.push({ challenge, certificateDer, rejection })
          return { reject: describeRejection(rejection) }
        },
        onRight: (client) => {
          accepted.push(client)
          return undefined
        }
      })
    },
    accepted: () => [...accepted],
    rejected: () => [...rejected]
  }
}
