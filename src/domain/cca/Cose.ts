// COSE_Sign1 (RFC 9052) with the ECDSA algorithms of RFC 9053, as CCA attestation tokens use it:
// a protected header `{1: alg}`, an empty unprotected header, raw `r || s` signatures, and keys given
// as SEC1 uncompressed points. Reading, verifying and producing such structures.
import { createPublicKey, sign as signBytes, verify as verifyBytes, type KeyObject } from "node:crypto"
import { Data, Either, Option } from "effect"
import * as Cbor from "./Cbor.js"

export const Sign1Tag = 18

export type Algorithm = "ES256" | "ES384" | "ES512"

interface AlgorithmParameters {
  readonly id: number
  readonly hash: string
  readonly curve: "P-256" | "P-384" | "P-521"
  readonly nodeCurve: string
  readonly coordinateLength: number
}

const parameters: Record<Algorithm, AlgorithmParameters> = {
  ES256: { id: -7, hash: "sha256", curve: "P-256", nodeCurve: "prime256v1", coordinateLength: 32 },
  ES384: { id: -35, hash: "sha384", curve: "P-384", nodeCurve: "secp384r1", coordinateLength: 48 },
  ES512: { id: -36, hash: "sha512", curve: "P-521", nodeCurve: "secp521r1", coordinateLength: 66 }
}

const algorithms = Object.keys(parameters) as ReadonlyArray<Algorithm>

export const algorithmId = (algorithm: Algorithm): number => parameters[algorithm].id

export const algorithmFromId = (id: number): Option.Option<Algorithm> =>
  Option.fromNullable(algorithms.find((algorithm) => parameters[algorithm].id === id))

/** One COSE_Sign1 as it was read: the protected header exactly as signed, its alg, payload and signature. */
export interface Sign1 {
  readonly protectedHeader: Uint8Array
  readonly algorithmId: number
  readonly payload: Uint8Array
  readonly signature: Uint8Array
}

export class InvalidSign1 extends Data.TaggedError("InvalidSign1")<{ readonly reason: string }> {
  override get message(): string {
    return `bad COSE_Sign1 structure: ${this.reason}`
  }
}

export class InvalidEcPoint extends Data.TaggedError("InvalidEcPoint")<{ readonly reason: string }> {
  override get message(): string {
    return `not a usable EC public key: ${this.reason}`
  }
}

const invalid = (reason: string) => Either.left(new InvalidSign1({ reason }))

/** Reads a tagged (18) COSE_Sign1 from its CBOR bytes. */
export const decodeSign1 = (bytes: Uint8Array): Either.Either<Sign1, InvalidSign1> =>
  Either.gen(function*() {
    const item = yield* Either.mapLeft(
      Cbor.decode(bytes),
      (reason) => new InvalidSign1({ reason: `not CBOR: ${reason}` })
    )
    const content = Cbor.tagged(item, Sign1Tag)
    if (content === undefined) return yield* invalid(`expected tag ${Sign1Tag}, found ${Cbor.describe(item)}`)
    if (!Array.isArray(content) || content.length !== 4) {
      return yield* invalid("expected an array of 4 (protected, unprotected, payload, signature)")
    }
    const [protectedHeader, unprotectedHeader, payload, signature] = content as [unknown, unknown, unknown, unknown]
    if (!(protectedHeader instanceof Uint8Array)) return yield* invalid("protected header is not a byte string")
    if (!(unprotectedHeader instanceof Map)) return yield* invalid("unprotected header is not a map")
    if (!(payload instanceof Uint8Array)) return yield* invalid("payload is not a byte string")
    if (!(signature instanceof Uint8Array)) return yield* invalid("signature is not a byte string")
    const header = yield* Either.mapLeft(
      Cbor.decode(protectedHeader),
      (reason) => new InvalidSign1({ reason: `protected header is not CBOR: ${reason}` })
    )
    if (!(header instanceof Map)) return yield* invalid(`protected header is a ${Cbor.describe(header)}, not a map`)
    const alg: unknown = header.get(1)
    if (typeof alg !== "number" || !Number.isInteger(alg)) {
      return yield* invalid("protected header has no integer alg (label 1)")
    }
    return { protectedHeader, algorithmId: alg, payload, signature }
  })

/** The bytes a COSE_Sign1 signature covers: `["Signature1", protected, h'', payload]`. */
export const toBeSigned = (protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array =>
  Cbor.encode(["Signature1", protectedHeader, new Uint8Array(0), payload])

/** Whether `sign1`'s signature is valid for `key` under `algorithm`; malformed signatures are simply invalid. */
export const verify = (sign1: Sign1, algorithm: Algorithm, key: KeyObject): boolean => {
  try {
    return verifyBytes(
      parameters[algorithm].hash,
      toBeSigned(sign1.protectedHeader, sign1.payload),
      { key, dsaEncoding: "ieee-p1363" },
      sign1.signature
    )
  } catch {
    return false
  }
}

const algorithmOfKey = (key: KeyObject): Algorithm => {
  const curve = key.asymmetricKeyDetails?.namedCurve
  const algorithm = algorithms.find((candidate) => parameters[candidate].nodeCurve === curve)
  if (algorithm === undefined) throw new Error(`COSE signing needs a P-256, P-384 or P-521 key, got ${String(curve)}`)
  return algorithm
}

/**
 * Signs `payload` into a tagged COSE_Sign1 laid out as CCA tokens are: protected `{1: alg}` with the
 * algorithm that matches the key's curve, empty unprotected header. A key of another type is a defect.
 */
export const sign = (payload: Uint8Array, privateKey: KeyObject): Uint8Array => {
  const algorithm = algorithmOfKey(privateKey)
  const protectedHeader = Cbor.encode(new Map([[1, parameters[algorithm].id]]))
  const signature = signBytes(parameters[algorithm].hash, toBeSigned(protectedHeader, payload), {
    key: privateKey,
    dsaEncoding: "ieee-p1363"
  })
  return Cbor.encode(new Cbor.Tag([protectedHeader, new Map(), payload, new Uint8Array(signature)], Sign1Tag))
}

/** A public key from a SEC1 uncompressed point (`04 || X || Y`); the curve follows from the length. */
export const publicKeyFromPoint = (point: Uint8Array): Either.Either<KeyObject, InvalidEcPoint> => {
  const algorithm = algorithms.find((candidate) => point.length === 1 + 2 * parameters[candidate].coordinateLength)
  if (algorithm === undefined) {
    const reason = `${point.length} bytes is no uncompressed P-256/P-384/P-521 point`
    return Either.left(new InvalidEcPoint({ reason }))
  }
  if (point[0] !== 0x04) return Either.left(new InvalidEcPoint({ reason: "the point is not in uncompressed form (04)" }))
  const { coordinateLength, curve } = parameters[algorithm]
  const coordinate = (from: number) =>
    Buffer.from(point.subarray(from, from + coordinateLength)).toString("base64url")
  try {
    const jwk = { kty: "EC", crv: curve, x: coordinate(1), y: coordinate(1 + coordinateLength) }
    return Either.right(createPublicKey({ key: jwk, format: "jwk" }))
  } catch {
    return Either.left(new InvalidEcPoint({ reason: `the point is not on ${curve}` }))
  }
}

/** The SEC1 uncompressed point of an EC public (or private) key. */
export const pointOfKey = (key: KeyObject): Uint8Array => {
  const { coordinateLength } = parameters[algorithmOfKey(key)]
  const jwk = key.export({ format: "jwk" })
  const coordinate = (value: string | undefined) => {
    const bytes = Buffer.from(value ?? "", "base64url")
    return Buffer.concat([Buffer.alloc(coordinateLength - bytes.length), bytes])
  }
  return new Uint8Array(Buffer.concat([Buffer.of(0x04), coordinate(jwk.x), coordinate(jwk.y)]))
}
