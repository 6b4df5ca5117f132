// Decodes JSON documents received as bytes (manifests, configs, tag lists) against a Schema and explains a
// failure in one line with the path of the bad field (`layers[0].digest: sha256 needs 64 …`), so each
// document module only has to wrap the reason into its own error.
import { Either, ParseResult, Schema } from "effect"
import { oneLine } from "./Quote.js"

const maxReasonLength = 300

const utf8 = new TextDecoder("utf-8", { fatal: true })

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((text, key) =>
    typeof key === "number"
      ? `${text}[${key}]`
      : typeof key === "string" && identifier.test(key)
      ? text === "" ? key : `${text}.${key}`
      : `${text}[${JSON.stringify(String(key))}]`, "")

// One line of at most `maxReasonLength` characters: parser messages quote the offending input.
const shorten = (text: string): string => {
  const line = oneLine(text)
  return line.length > maxReasonLength ? `${line.slice(0, maxReasonLength)}…` : line
}

/** Parses JSON text into a plain value, or says why it is not JSON. */
export const parseJson = (bytes: Uint8Array): Either.Either<unknown, string> => {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return Either.left("not valid UTF-8")
  }
  try {
    return Either.right(JSON.parse(text) as unknown)
  } catch (e) {
    return Either.left(shorten(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`))
  }
}

/** Decodes an already parsed JSON value, or explains the first problem with the path of the bad field. */
export const decodeValue = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (value: unknown): Either.Either<A, string> =>
    Either.mapLeft(decode(value), (error) => {
      const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
      if (first === undefined) {
        return "does not match the expected structure"
      }
      const where = formatPath(first.path)
      return shorten(where === "" ? first.message : `${where}: ${first.message}`)
    })
}

/** Parses and decodes JSON bytes in one step. */
export const decode = <A, I>(schema: Schema.Schema<A, I>) => {
  const decodeParsed = decodeValue(schema)
  return (bytes: Uint8Array): Either.Either<A, string> => Either.flatMap(parseJson(bytes), decodeParsed)
}
