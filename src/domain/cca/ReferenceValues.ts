// The reference-values document the Islet registry server is started with (JSON, `realm.reference-values`),
// and the measurement policy it enforces: RIM equal, REMs equal to one listed set of four, and the
// measurement hash algorithm equal, checked in that order as the reference verifier does.
import { Data, Either, ParseResult, Schema } from "effect"
import type { RealmClaims } from "./CcaToken.js"
import * as HashAlgorithm from "./HashAlgorithm.js"

const Measurement = Schema.Uint8ArrayFromHex.annotations({ message: () => "expected a hex string of even length" })

const RemSet = Schema.Tuple(Measurement, Measurement, Measurement, Measurement)

interface Measurements {
  readonly rim: Uint8Array
  readonly rems: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly hashAlgorithm: HashAlgorithm.HashAlgorithm
}

const measurementsFit = (values: Measurements) => {
  const expected = HashAlgorithm.length(values.hashAlgorithm)
  if (values.rim.length !== expected) return `rim has ${values.rim.length} bytes, ${values.hashAlgorithm} needs ${expected}`
  for (const [setIndex, set] of values.rems.entries()) {
    for (const [remIndex, rem] of set.entries()) {
      if (rem.length !== expected) {
        return `rems[${setIndex}][${remIndex}] has ${rem.length} bytes, ${values.hashAlgorithm} needs ${expected}`
      }
    }
  }
  return true
}

export const ReferenceValues = Schema.Struct({
  rim: Measurement,
  rems: Schema.Array(RemSet),
  hashAlgorithm: Schema.propertySignature(HashAlgorithm.HashAlgorithm).pipe(Schema.fromKey("hash-algo"))
}).pipe(Schema.filter(measurementsFit))
export type ReferenceValues = typeof ReferenceValues.Type

// Every field is required, as the reference server's parser has it.
export const ReferenceDocument = Schema.Struct({
  version: Schema.String,
  issuer: Schema.Struct({ name: Schema.String, url: Schema.String }),
  realm: Schema.Struct({
    uuid: Schema.String,
    name: Schema.String,
    version: Schema.String,
    releaseTimestamp: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("release-timestamp")),
    attestationProtocol: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("attestation-protocol")),
    port: Schema.Number.pipe(Schema.int(), Schema.between(0, 65535)),
    referenceValues: Schema.propertySignature(ReferenceValues).pipe(Schema.fromKey("reference-values"))
  })
})
export type ReferenceDocument = typeof ReferenceDocument.Type

export class InvalidReferenceValues extends Data.TaggedError("InvalidReferenceValues")<{ readonly reason: string }> {
  override get message(): string {
    return `invalid reference values: ${this.reason}`
  }
}

export type RejectedField = "rim" | "rems" | "hash-algo"

export class MeasurementsRejected extends Data.TaggedError("MeasurementsRejected")<{
  readonly field: RejectedField
  readonly reason: string
}> {
  override get message(): string {
    return `reference values check failed on ${this.field}: ${this.reason}`
  }
}

const decodeDocument = Schema.decodeUnknownEither(Schema.parseJson(ReferenceDocument), { errors: "first" })

/** Reads a reference-values JSON document; the reason names the offending field. */
export const decode = (json: Uint8Array): Either.Either<ReferenceDocument, InvalidReferenceValues> =>
  Either.mapLeft(decodeDocument(new TextDecoder().decode(json)), (error) => {
    const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
    const where = issue?.path.map(String).join(".") || "document"
    const reason = issue === undefined ? error.message : `${where}: ${issue.message}`
    return new InvalidReferenceValues({ reason })
  })

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0

/** Accepts realm claims whose measurements the reference values list. */
export const check = (reference: ReferenceValues, claims: RealmClaims): Either.Either<void, MeasurementsRejected> => {
  if (!sameBytes(reference.rim, claims.rim)) {
    const reason = `RIM ${hex(claims.rim)} is not the reference RIM`
    return Either.left(new MeasurementsRejected({ field: "rim", reason }))
  }
  const listed = (set: ReadonlyArray<Uint8Array>) =>
    set.every((rem, index) => {
      const actual = claims.rems[index]
      return actual !== undefined && sameBytes(rem, actual)
    })
  if (!reference.rems.some(listed)) {
    return Either.left(new MeasurementsRejected({ field: "rems", reason: "the four REMs match no reference set" }))
  }
  if (reference.hashAlgorithm !== claims.measurementHashAlgorithm) {
    return Either.left(
      new MeasurementsRejected({
        field: "hash-algo",
        reason: `measurement hash algorithm ${claims.measurementHashAlgorithm}, reference ${reference.hashAlgorithm}`
      })
    )
  }
  return Either.void
}
