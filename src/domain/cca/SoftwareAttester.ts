// A software stand-in for the CCA RSI attestation call, for development and tests. It is NOT
// hardware-backed: its platform and realm keys live in this process, so its tokens prove nothing about
// the machine. They are, byte for byte, in the format of real tokens, so the strict verifier accepts them.
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto"
import { Data, Either } from "effect"
import * as CcaToken from "./CcaToken.js"
import * as Cose from "./Cose.js"
import * as HashAlgorithm from "./HashAlgorithm.js"
import type { ReferenceValues } from "./ReferenceValues.js"

/** What the attested realm reports about itself; defaults stand for an empty sha-256 realm. */
export interface RealmMeasurements {
  readonly rim: Uint8Array
  readonly rems: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array]
  readonly personalizationValue: Uint8Array
  readonly measurementHashAlgorithm: HashAlgorithm.HashAlgorithm
}

export type PlatformDescription = Omit<CcaToken.PlatformClaims, "challenge" | "instanceId">

export interface Options {
  /** P-384 private key standing for the CPAK; generated when absent. */
  readonly platformKey?: KeyObject
  /** P-384 private key standing for the RAK; generated when absent. */
  readonly realmKey?: KeyObject
  readonly realm?: Partial<RealmMeasurements>
  readonly platform?: Partial<PlatformDescription>
}

/** NOT hardware-backed: a token producer whose keys are ordinary in-process keys. */
export interface SoftwareAttester {
  /** The public platform key, to configure as the CPAK of a verifier that should accept these tokens. */
  readonly platformPublicKey: KeyObject
  /** Reference values that list exactly this attester's realm measurements. */
  readonly referenceValues: ReferenceValues
  /** A token whose realm challenge (claim 10) is `challenge`, which must be 64 bytes. */
  readonly attest: (challenge: Uint8Array) => Either.Either<Uint8Array, InvalidAttestationChallenge>
}

export class InvalidAttestationChallenge extends Data.TaggedError("InvalidAttestationChallenge")<{
  readonly length: number
}> {
  override get message(): string {
    return `a realm challenge has 64 bytes, got ${this.length}`
  }
}

const RakHashAlgorithm: HashAlgorithm.HashAlgorithm = "sha-256"

const zeros = (length: number) => new Uint8Array(length)

const label = (text: string) => new Uint8Array(createHash("sha256").update(text).digest())

const defaultMeasurements: RealmMeasurements = {
  rim: label("software attester realm initial measurement"),
  rems: [zeros(32), zeros(32), zeros(32), zeros(32)],
  personalizationValue: zeros(64),
  measurementHashAlgorithm: "sha-256"
}

// Values in the shape of the Islet client token: the CCA SSD profile, a "secured" lifecycle (0x3000).
const defaultPlatform: PlatformDescription = {
  profile: "http://arm.com/CCA-SSD/1.0.0",
  securityLifecycle: 0x3000,
  implementationId: label("software attester implementation"),
  softwareComponents: [
    {
      type: "SOFTWARE-ATTESTER",
      hashAlgorithm: "sha-256",
      measurement: label("software attester firmware"),
      version: "0.0.0",
      signerId: label("software attester signer")
    }
  ],
  verificationService: "http://localhost",
  configuration: zeros(4),
  hashAlgorithm: "sha-256"
}

const newKey = () => generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey

export const make = (options: Options = {}): SoftwareAttester => {
  const platformKey = options.platformKey ?? newKey()
  const realmKey = options.realmKey ?? newKey()
  const realm: RealmMeasurements = { ...defaultMeasurements, ...options.realm }
  const platform: PlatformDescription = { ...defaultPlatform, ...options.platform }
  const rak = Cose.pointOfKey(realmKey)
  // As in PSA/CCA, the instance id is 0x01 followed by the hash of the platform public key.
  const instanceId = Uint8Array.of(0x01, ...HashAlgorithm.digest("sha-256", Cose.pointOfKey(platformKey)))
  const platformToken = Cose.sign(
    CcaToken.encodePlatformClaims({
      ...platform,
      challenge: HashAlgorithm.digest(RakHashAlgorithm, rak),
      instanceId
    }),
    platformKey
  )
  const attest = (challenge: Uint8Array) => {
    if (challenge.length !== 64) return Either.left(new InvalidAttestationChallenge({ length: challenge.length }))
    const realmToken = Cose.sign(
      CcaToken.encodeRealmClaims({
        challenge,
        personalizationValue: realm.personalizationValue,
        rak,
        measurementHashAlgorithm: realm.measurementHashAlgorithm,
        rakHashAlgorithm: RakHashAlgorithm,
        rim: realm.rim,
        rems: realm.rems
      }),
      realmKey
    )
    return Either.right(CcaToken.encodeCollection(platformToken, realmToken))
  }
  return {
    platformPublicKey: createPublicKey(platformKey),
    referenceValues: { rim: realm.rim, rems: [realm.rems], hashAlgorithm: realm.measurementHashAlgorithm },
    attest
  }
}
