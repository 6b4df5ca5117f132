// The checks a verifier runs on a parsed CCA token (RA-TLS.md section 4, steps 2 to 6), one function and
// one error per check so a caller can run them alone or in the reference order through `verify`.
// All are pure: they return an Either, which also runs as an Effect.
import { createHash, type KeyObject } from "node:crypto"
import { Data, Either, Option } from "effect"
import type { CcaToken } from "./CcaToken.js"
import * as Cose from "./Cose.js"
import * as HashAlgorithm from "./HashAlgorithm.js"
import * as ReferenceValues from "./ReferenceValues.js"

export type Check = "realm-signature" | "platform-signature" | "rak-binding" | "realm-challenge" | "reference-values"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

export class RealmSignatureInvalid extends Data.TaggedError("RealmSignatureInvalid")<{ readonly reason: string }> {
  override get message(): string {
    return `realm token signature check failed: ${this.reason}`
  }
}

export class PlatformSignatureInvalid extends Data.TaggedError("PlatformSignatureInvalid")<{ readonly reason: string }> {
  override get message(): string {
    return `platform token signature check failed: ${this.reason}`
  }
}

export class RakBindingMismatch extends Data.TaggedError("RakBindingMismatch")<{
  readonly algorithm: HashAlgorithm.HashAlgorithm
  readonly rakHash: Uint8Array
  readonly platformChallenge: Uint8Array
}> {
  override get message(): string {
    return `RAK binding check failed: ${this.algorithm}(RAK) = ${hex(this.rakHash)}, ` +
      `platform challenge = ${hex(this.platformChallenge)}`
  }
}

export class RealmChallengeMismatch extends Data.TaggedError("RealmChallengeMismatch")<{
  readonly expected: Uint8Array
  readonly actual: Uint8Array
}> {
  override get message(): string {
    return `realm challenge check failed: expected ${hex(this.expected)}, token carries ${hex(this.actual)}`
  }
}

export class UnsupportedAlgorithm extends Data.TaggedError("UnsupportedAlgorithm")<{
  readonly check: Check
  readonly algorithm: string
}> {
  override get message(): string {
    return `${this.check} check failed: unsupported algorithm ${this.algorithm}`
  }
}

export { MeasurementsRejected } from "./ReferenceValues.js"

export type VerificationError =
  | RealmSignatureInvalid
  | PlatformSignatureInvalid
  | RakBindingMismatch
  | RealmChallengeMismatch
  | ReferenceValues.MeasurementsRejected
  | UnsupportedAlgorithm

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0

const coseAlgorithm = (check: Check, id: number) =>
  Option.match(Cose.algorithmFromId(id), {
    onNone: () => Either.left(new UnsupportedAlgorithm({ check, algorithm: `COSE alg ${id}` })),
    onSome: Either.right
  })

/** Step 2: the realm token is signed by the RAK it carries in claim 44237. */
export const verifyRealmSignature = (
  token: CcaToken
): Either.Either<void, RealmSignatureInvalid | UnsupportedAlgorithm> =>
  Either.gen(function*() {
    const algorithm = yield* coseAlgorithm("realm-signature", token.realm.algorithmId)
    const rak = yield* Either.mapLeft(
      Cose.publicKeyFromPoint(token.realm.claims.rak),
      (error) => new RealmSignatureInvalid({ reason: `the RAK is ${error.message}` })
    )
    if (!Cose.verify(token.realm, algorithm, rak)) {
      const reason = `the ${algorithm} signature does not verify with the RAK`
      return yield* Either.left(new RealmSignatureInvalid({ reason }))
    }
  })

/** Step 3: the platform token is signed by the platform attestation key (CPAK). */
export const verifyPlatformSignature = (
  token: CcaToken,
  cpak: KeyObject
): Either.Either<void, PlatformSignatureInvalid | UnsupportedAlgorithm> =>
  Either.gen(function*() {
    const algorithm = yield* coseAlgorithm("platform-signature", token.platform.algorithmId)
    if (!Cose.verify(token.platform, algorithm, cpak)) {
      return yield* Either.left(
        new PlatformSignatureInvalid({ reason: `the ${algorithm} signature does not verify with the platform key` })
      )
    }
  })

/** Step 4: the platform challenge is the hash of the RAK, with the algorithm named by claim 44240. */
export const verifyRakBinding = (token: CcaToken): Either.Either<void, RakBindingMismatch | UnsupportedAlgorithm> =>
  Either.gen(function*() {
    const name = token.realm.claims.rakHashAlgorithm
    const algorithm = yield* Option.match(HashAlgorithm.parse(name), {
      onNone: () => Either.left(new UnsupportedAlgorithm({ check: "rak-binding", algorithm: name })),
      onSome: Either.right
    })
    const rakHash = HashAlgorithm.digest(algorithm, token.realm.claims.rak)
    const platformChallenge = token.platform.claims.challenge
    if (!sameBytes(rakHash, platformChallenge)) {
      return yield* Either.left(new RakBindingMismatch({ algorithm, rakHash, platformChallenge }))
    }
  })

/** The realm challenge an RA-TLS peer expects: SHA-512(server challenge || client SPKI DER). */
export const realmChallengeFor = (serverChallenge: Uint8Array, clientSpkiDer: Uint8Array): Uint8Array =>
  new Uint8Array(createHash("sha512").update(serverChallenge).update(clientSpkiDer).digest())

/** Step 5: the realm token answers the expected challenge (claim 10). */
export const verifyRealmChallenge = (
  token: CcaToken,
  expected: Uint8Array
): Either.Either<void, RealmChallengeMismatch> =>
  sameBytes(expected, token.realm.claims.challenge)
    ? Either.void
    : Either.left(new RealmChallengeMismatch({ expected, actual: token.realm.claims.challenge }))

/** Step 6: the realm measurements are among the reference values. */
export const checkReferenceValues = (
  token: CcaToken,
  referenceValues: ReferenceValues.ReferenceValues
): Either.Either<void, ReferenceValues.MeasurementsRejected> =>
  ReferenceValues.check(referenceValues, token.realm.claims)

/** What a verifier is configured with; a check whose input is absent is skipped, as the reference server does. */
export interface Policy {
  readonly platformKey?: KeyObject
  readonly realmChallenge?: Uint8Array
  readonly referenceValues?: ReferenceValues.ReferenceValues
}

/** Runs every applicable check in the order of RA-TLS.md section 4 and stops at the first failure. */
export const verify = (token: CcaToken, policy: Policy): Either.Either<void, VerificationError> =>
  Either.gen(function*() {
    yield* verifyRealmSignature(token)
    if (policy.platformKey !== undefined) yield* verifyPlatformSignature(token, policy.platformKey)
    yield* verifyRakBinding(token)
    if (policy.realmChallenge !== undefined) yield* verifyRealmChallenge(token, policy.realmChallenge)
    if (policy.referenceValues !== undefined) yield* checkReferenceValues(token, policy.referenceValues)
  })
