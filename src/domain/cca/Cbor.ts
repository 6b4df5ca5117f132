// The CBOR codec settings shared by everything that reads or writes CCA tokens and COSE structures.
// Maps stay `Map`s (claim keys are integers), byte strings stay bytes, and nothing cbor-x-specific
// (records, packing, tag 259 maps, tag 64 typed arrays) appears on the wire.
import { Decoder, Encoder, Tag } from "cbor-x"
import { Either } from "effect"

const options = {
  mapsAsObjects: false,
  useRecords: false,
  useTag259ForMaps: false,
  tagUint8Array: false,
  pack: false,
  copyBuffers: true
}

const decoder = new Decoder(options)
const encoder = new Encoder(options)

export { Tag }

/** Decodes exactly one CBOR item; trailing bytes are an error. Left carries cbor-x's own explanation. */
export const decode = (bytes: Uint8Array): Either.Either<unknown, string> => {
  if (bytes.length === 0) return Either.left("no data")
  try {
    return Either.right(decoder.decode(bytes))
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : String(error))
  }
}

export const encode = (value: unknown): Uint8Array => new Uint8Array(encoder.encode(value))

/** A tagged item with the given tag number, or undefined. */
export const tagged = (value: unknown, tag: number): unknown =>
  value instanceof Tag && value.tag === tag ? value.value : undefined

/** A short name of what a decoded CBOR item is, for error messages. */
export const describe = (value: unknown): string => {
  if (value instanceof Tag) return `tag ${value.tag}`
  if (value instanceof Uint8Array) return "byte string"
  if (value instanceof Map) return "map"
  if (Array.isArray(value)) return "array"
  if (value === null) return "null"
  if (typeof value === "string") return "text string"
  if (typeof value === "bigint") return "integer"
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "float"
  return typeof value
}
