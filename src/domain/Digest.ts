// Content digests (`algorithm:encoded`): the identity of every manifest and blob in a registry.
// A `Digest` value can only come from `parse` (or hashing bytes), so code holding one may trust its
// shape; only the two algorithms the OCI image spec registers, sha256 and sha512, are accepted.
import { Brand, Data, Either, Schema } from "effect"
import { createHash } from "node:crypto"
import { quote } from "./internal/Quote.js"

export type Algorithm = "sha256" | "sha512"

export type Digest = string & Brand.Brand<"Digest">

export class InvalidDigest extends Data.TaggedError("InvalidDigest")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid digest ${quote(this.input)}: ${this.reason}`
  }
}

const hexLength: Record<Algorithm, number> = { sha256: 64, sha512: 128 }

const isAlgorithm = (s: string): s is Algorithm => Object.hasOwn(hexLength, s)

const lowercaseHex = /^[0-9a-f]*$/

// Returns why `input` is not a digest, or undefined when it is one.
const violation = (input: string): string | undefined => {
  const colon = input.indexOf(":")
  if (colon < 0) {
    return `expected "algorithm:encoded", found no ":"`
  }
  const algorithm = input.slice(0, colon)
  const encoded = input.slice(colon + 1)
  if (!isAlgorithm(algorithm)) {
    return algorithm === ""
      ? `the algorithm before ":" is missing`
      : `unsupported algorithm ${quote(algorithm)} (sha256 and sha512 are supported)`
  }
  const expected = hexLength[algorithm]
  if (encoded.length !== expected) {
    return `${algorithm} needs ${expected} lowercase hex characters, got ${encoded.length}`
  }
  if (!lowercaseHex.test(encoded)) {
    const position = [...encoded].findIndex((c) => !/[0-9a-f]/.test(c))
    return `${algorithm} needs ${expected} lowercase hex characters, found ${
      quote(encoded.charAt(position))
    } at position ${position + 1}`
  }
  return undefined
}

export const Digest = Schema.String.pipe(
  Schema.filter((s) => violation(s) ?? true),
  Schema.brand("Digest"),
  Schema.annotations({ identifier: "Digest", description: "an OCI content digest, sha256:<64 hex> or sha512:<128 hex>" })
)

export const parse = (input: string): Either.Either<Digest, InvalidDigest> => {
  const reason = violation(input)
  return reason === undefined ? Either.right(input as Digest) : Either.left(new InvalidDigest({ input, reason }))
}

export const algorithm = (d: Digest): Algorithm => d.slice(0, d.indexOf(":")) as Algorithm

export const encoded = (d: Digest): string => d.slice(d.indexOf(":") + 1)

export interface Hasher {
  update(chunk: Uint8Array): void
  digest(): Digest
}

export const hasher = (algorithm: Algorithm): Hasher => {
  const hash = createHash(algorithm)
  return {
    update: (chunk) => {
      hash.update(chunk)
    },
    digest: () => `${algorithm}:${hash.digest("hex")}` as Digest
  }
}

export const fromBytes = (bytes: Uint8Array, algorithm: Algorithm = "sha256"): Digest => {
  const h = hasher(algorithm)
  h.update(bytes)
  return h.digest()
}
