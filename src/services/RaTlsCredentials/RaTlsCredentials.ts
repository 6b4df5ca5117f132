// The client side of RA-TLS authentication (RA-TLS.md section 1): one RSA-2048 key for the credential's
// lifetime and, for every handshake, a certificate made on the spot that carries a token bound to the
// server's challenge and to that key. It plugs into the TLS 1.3 engine as its client certificate callback.
import { Cause, Context, Effect, Either, Exit, Layer } from "effect"
import * as crypto from "node:crypto"
import { realmChallengeFor } from "../../domain/cca/CcaVerification.js"
import type {
  ClientCertificateCallback,
  ClientCertificateRequest,
  ClientCredential
} from "../Tls13/handshake/client/ClientConfig.js"
import { TokenResolver } from "../TokenResolver/TokenResolver.js"
import type { TokenResolverError } from "../TokenResolver/TokenResolverError.js"
import * as RaTlsCertificate from "./RaTlsCertificate.js"
import * as RaTlsChallenge from "./RaTlsChallenge.js"

export type RaTlsCredentialError = RaTlsChallenge.RaTlsChallengeError | TokenResolverError

export interface RaTlsKey {
  readonly privateKey: crypto.KeyObject
  /** DER SubjectPublicKeyInfo of the public half: what the realm challenge binds the token to. */
  readonly spkiDer: Uint8Array
}

export class RaTlsCredentials extends Context.Tag("oci-ratls-client/RaTlsCredentials")<
  RaTlsCredentials,
  {
    /** The credential's key, made on first use and the same for every handshake afterwards. */
    readonly key: Effect.Effect<RaTlsKey>
    /** The certificate and key answering one CertificateRequest, or why there is none. */
    readonly credentialFor: (request: ClientCertificateRequest) => Effect.Effect<ClientCredential, RaTlsCredentialError>
    /** `credentialFor` as the engine's callback: a failure rejects with the RA-TLS error itself. */
    readonly clientCertificate: ClientCertificateCallback
  }
>() {}

const generateKey = (): Promise<RaTlsKey> =>
  new Promise((resolve, reject) =>
    crypto.generateKeyPair("rsa", { modulusLength: 2048, publicExponent: 0x10001 }, (error, publicKey, privateKey) => {
      if (error !== null) reject(error)
      else resolve({ privateKey, spkiDer: new Uint8Array(publicKey.export({ type: "spki", format: "der" })) })
    })
  )

/** A key of the caller's (e.g. kept across runs); it must be RSA, the key type RA-TLS verifiers expect. */
export const keyFrom = (privateKey: crypto.KeyObject): RaTlsKey => {
  if (privateKey.asymmetricKeyType !== "rsa") throw new TypeError(`an RA-TLS key is RSA, got ${privateKey.asymmetricKeyType}`)
  const spki = crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" })
  return { privateKey, spkiDer: new Uint8Array(spki) }
}

const rejectWithFailure = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

/**
 * The seed's `RaTlsCertResolver::from_token_resolver`: usable at once, the key is generated (asynchronously)
 * on the first handshake and kept. Pass `key` to use an existing one instead.
 */
export const fromTokenResolver = (resolver: TokenResolver["Type"], key?: RaTlsKey): RaTlsCredentials["Type"] => {
  let pending: Promise<RaTlsKey> | undefined = key === undefined ? undefined : Promise.resolve(key)
  const ownKey = Effect.promise(() => {
    pending ??= generateKey()
    return pending
  })
  const credentialFor = Effect.fn("RaTlsCredentials.credentialFor")(function* (request: ClientCertificateRequest) {
    const challenge = yield* Either.match(RaTlsChallenge.fromCertificateAuthorities(request.certificateAuthorities), {
      onLeft: (error) => Effect.fail(error),
      onRight: Effect.succeed
    })
    const { privateKey, spkiDer } = yield* ownKey
    const token = yield* resolver.resolve(realmChallengeFor(challenge, spkiDer))
    const certificate = RaTlsCertificate.make({ privateKey, publicKeySpkiDer: spkiDer, token })
    return { chainDer: [certificate], privateKey }
  })
  return RaTlsCredentials.of({
    key: ownKey,
    credentialFor,
    clientCertificate: (request) => Effect.runPromiseExit(credentialFor(request)).then(rejectWithFailure)
  })
}

/** Credentials whose key is ready before the first connection. */
export const make = (resolver: TokenResolver["Type"]): Effect.Effect<RaTlsCredentials["Type"]> =>
  Effect.promise(generateKey).pipe(Effect.map((key) => fromTokenResolver(resolver, key)))

/** Credentials over the TokenResolver in context, with a fresh key. */
export const layer: Layer.Layer<RaTlsCredentials, never, TokenResolver> = Layer.effect(
  RaTlsCredentials,
  Effect.flatMap(TokenResolver, make)
)
