// The Arm CCA attestation token (RA-TLS.md section 3): a tag-399 map holding the platform token and the
// realm delegated token, each a COSE_Sign1 whose payload is a map of integer-keyed claims. Parsing gives
// typed claims with friendly names; encoding writes them back in the key order the Islet tokens use.
import { Data, Either, ParseResult, Schema } from "effect"
import * as Cbor from "./Cbor.js"
import * as Cose from "./Cose.js"

export const CollectionTag = 399
export const PlatformTokenKey = 44234
export const RealmTokenKey = 44241

const Bytes = Schema.Uint8ArrayFromSelf.annotations({ identifier: "byte string" })

const BytesOfLength = (length: number) =>
  Bytes.pipe(Schema.filter((bytes) => bytes.length === length || `expected ${length} bytes, got ${bytes.length}`))

const Integer = Schema.Number.pipe(Schema.int()).annotations({ identifier: "integer" })
const Text = Schema.String.annotations({ identifier: "text string" })

/** Claim keys of the realm token, by friendly name, in the order the Islet tokens carry them. */
export const RealmClaimKey = {
  challenge: 10,
  personalizationValue: 44235,
  rak: 44237,
  measurementHashAlgorithm: 44236,
  rakHashAlgorithm: 44240,
  rim: 44238,
  rems: 44239
} as const

/** Claim keys of the platform token, by friendly name, in the order of the Islet client token. */
export const PlatformClaimKey = {
  challenge: 10,
  instanceId: 256,
  profile: 265,
  securityLifecycle: 2395,
  implementationId: 2396,
  softwareComponents: 2399,
  verificationService: 2400,
  configuration: 2401,
  hashAlgorithm: 2402
} as const

/** Keys of one platform software component map, in the order of the Islet client token. */
export const SoftwareComponentKey = {
  type: 1,
  hashAlgorithm: 6,
  measurement: 2,
  version: 4,
  signerId: 5
} as const

const required = <S extends Schema.Schema.Any>(key: number, schema: S) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(String(key)))

const optional = <S extends Schema.Schema.Any>(key: number, schema: S) =>
  Schema.optionalWith(schema, { exact: true }).pipe(Schema.fromKey(String(key)))

export const RealmClaims = Schema.Struct({
  challenge: required(RealmClaimKey.challenge, BytesOfLength(64)),
  personalizationValue: required(RealmClaimKey.personalizationValue, BytesOfLength(64)),
  rak: required(RealmClaimKey.rak, Bytes),
  measurementHashAlgorithm: required(RealmClaimKey.measurementHashAlgorithm, Text),
  rakHashAlgorithm: required(RealmClaimKey.rakHashAlgorithm, Text),
  rim: required(RealmClaimKey.rim, Bytes),
  rems: required(RealmClaimKey.rems, Schema.Tuple(Bytes, Bytes, Bytes, Bytes))
})
export type RealmClaims = typeof RealmClaims.Type

// Type, version and hash algorithm are absent from some components of the Islet server token.
export const SoftwareComponent = Schema.Struct({
  type: optional(SoftwareComponentKey.type, Text),
  measurement: required(SoftwareComponentKey.measurement, Bytes),
  version: optional(SoftwareComponentKey.version, Text),
  signerId: required(SoftwareComponentKey.signerId, Bytes),
  hashAlgorithm: optional(SoftwareComponentKey.hashAlgorithm, Text)
})
export type SoftwareComponent = typeof SoftwareComponent.Type

// The CCA platform profile makes only the verification service optional.
export const PlatformClaims = Schema.Struct({
  challenge: required(PlatformClaimKey.challenge, Bytes),
  instanceId: required(PlatformClaimKey.instanceId, Bytes),
  profile: required(PlatformClaimKey.profile, Text),
  securityLifecycle: required(PlatformClaimKey.securityLifecycle, Integer),
  implementationId: required(PlatformClaimKey.implementationId, Bytes),
  softwareComponents: required(PlatformClaimKey.softwareComponents, Schema.Array(SoftwareComponent)),
  verificationService: optional(PlatformClaimKey.verificationService, Text),
  configuration: required(PlatformClaimKey.configuration, Bytes),
  hashAlgorithm: required(PlatformClaimKey.hashAlgorithm, Text)
})
export type PlatformClaims = typeof PlatformClaims.Type

/** One signed token of the collection: the COSE_Sign1 as read, plus its decoded claims. */
export interface SignedToken<Claims> extends Cose.Sign1 {
  readonly claims: Claims
}

export interface CcaToken {
  readonly platform: SignedToken<PlatformClaims>
  readonly realm: SignedToken<RealmClaims>
  readonly raw: Uint8Array
}

export class InvalidCcaToken extends Data.TaggedError("InvalidCcaToken")<{ readonly reason: string }> {
  override get message(): string {
    return `invalid CCA attestation token: ${this.reason}`
  }
}

const invalid = (reason: string) => Either.left(new InvalidCcaToken({ reason }))

// Claim maps become records keyed by the decimal claim key so that Struct schemas can read them;
// keys that are not integers cannot name a known claim and are dropped.
const toRecord = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(toRecord)
  if (!(value instanceof Map)) return value
  const record: Record<string, unknown> = {}
  for (const [key, entry] of value) {
    if (typeof key === "number" && Number.isInteger(key)) record[String(key)] = toRecord(entry)
  }
  return record
}

const describeIssue = (error: ParseResult.ParseError, keys: Readonly<Record<string, number>>): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return error.message
  const [head, ...rest] = issue.path
  if (head === undefined) return issue.message
  const name = Object.keys(keys).find((candidate) => String(keys[candidate]) === String(head))
  const named = name === undefined ? "" : ` (${name})`
  const within = rest.length === 0 ? "" : ` at ${rest.map(String).join("/")}`
  return `claim ${String(head)}${named}${within}: ${issue.message}`
}

const decodeClaims = <A, I>(
  schema: Schema.Schema<A, I>,
  keys: Readonly<Record<string, number>>,
  which: string,
  payload: Uint8Array
) =>
  Either.gen(function*() {
    const item = yield* Either.mapLeft(
      Cbor.decode(payload),
      (reason) => new InvalidCcaToken({ reason: `${which} payload is not CBOR: ${reason}` })
    )
    if (!(item instanceof Map)) return yield* invalid(`${which} payload is a ${Cbor.describe(item)}, not a claims map`)
    return yield* Either.mapLeft(
      Schema.decodeUnknownEither(schema, { errors: "first" })(toRecord(item)),
      (error) => new InvalidCcaToken({ reason: `${which} ${describeIssue(error, keys)}` })
    )
  })

const decodeSigned = <A, I>(
  schema: Schema.Schema<A, I>,
  keys: Readonly<Record<string, number>>,
  which: string,
  bytes: Uint8Array
) =>
  Either.gen(function*() {
    const sign1 = yield* Either.mapLeft(
      Cose.decodeSign1(bytes),
      (error) => new InvalidCcaToken({ reason: `${which}: ${error.message}` })
    )
    const claims = yield* decodeClaims(schema, keys, `${which} claims:`, sign1.payload)
    return { ...sign1, claims }
  })

/** Parses the token bytes; every failure names what was wrong and where. */
export const decode = (bytes: Uint8Array): Either.Either<CcaToken, InvalidCcaToken> =>
  Either.gen(function*() {
    const item = yield* Either.mapLeft(
      Cbor.decode(bytes),
      (reason) => new InvalidCcaToken({ reason: `not CBOR: ${reason}` })
    )
    const collection = Cbor.tagged(item, CollectionTag)
    if (collection === undefined) return yield* invalid(`not a tag ${CollectionTag}: found ${Cbor.describe(item)}`)
    if (!(collection instanceof Map)) {
      return yield* invalid(`tag ${CollectionTag} holds a ${Cbor.describe(collection)}, not a map`)
    }
    for (const key of collection.keys()) {
      if (key !== PlatformTokenKey && key !== RealmTokenKey) {
        return yield* invalid(`unexpected key ${String(key)} in the token map`)
      }
    }
    const platformBytes: unknown = collection.get(PlatformTokenKey)
    const realmBytes: unknown = collection.get(RealmTokenKey)
    if (platformBytes === undefined) return yield* invalid(`missing ${PlatformTokenKey} (platform token)`)
    if (realmBytes === undefined) return yield* invalid(`missing ${RealmTokenKey} (realm delegated token)`)
    if (!(platformBytes instanceof Uint8Array)) {
      return yield* invalid(`${PlatformTokenKey} (platform token) is not a byte string`)
    }
    if (!(realmBytes instanceof Uint8Array)) return yield* invalid(`${RealmTokenKey} (realm token) is not a byte string`)
    const platform = yield* decodeSigned(PlatformClaims, PlatformClaimKey, "platform token", platformBytes)
    const realm = yield* decodeSigned(RealmClaims, RealmClaimKey, "realm token", realmBytes)
    return { platform, realm, raw: Uint8Array.from(bytes) }
  })

const claimMap = <Claims extends object>(keys: { readonly [K in keyof Claims]-?: number }, claims: Claims) =>
  new Map(
    (Object.keys(keys) as Array<keyof Claims>).flatMap((name) =>
      claims[name] === undefined ? [] : [[keys[name], claims[name]] as const]
    )
  )

export const encodeRealmClaims = (claims: RealmClaims): Uint8Array => Cbor.encode(claimMap(RealmClaimKey, claims))

export const encodePlatformClaims = (claims: PlatformClaims): Uint8Array =>
  Cbor.encode(
    claimMap(PlatformClaimKey, {
      ...claims,
      softwareComponents: claims.softwareComponents.map((component) => claimMap(SoftwareComponentKey, component))
    })
  )

/** The tag-399 collection around two signed tokens (tagged COSE_Sign1 bytes). */
export const encodeCollection = (platformToken: Uint8Array, realmToken: Uint8Array): Uint8Array =>
  Cbor.encode(new Cbor.Tag(new Map([[PlatformTokenKey, platformToken], [RealmTokenKey, realmToken]]), CollectionTag))
