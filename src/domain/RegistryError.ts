// The error bodies a registry sends with a 4xx/5xx answer (`{"errors":[{"code":…,"message":…}]}`).
// Codes outside the distribution spec's list are kept as plain strings, and a body that is not such a
// document is simply absent: the HTTP status then has to speak for itself.
import { Either, Option, Schema } from "effect"
import * as JsonDocument from "./internal/JsonDocument.js"
import { oneLine } from "./internal/Quote.js"

export type ErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  // Keeps editor completion for the known codes while admitting any other string.
  | (string & {})

export const ErrorEntry = Schema.Struct({
  code: Schema.String,
  message: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.Unknown)
}).annotations({ identifier: "ErrorEntry" })

export type ErrorEntry = typeof ErrorEntry.Type

export const ErrorBody = Schema.Struct({
  errors: Schema.Array(ErrorEntry)
}).annotations({ identifier: "ErrorBody" })

export type ErrorBody = typeof ErrorBody.Type

const decodeJson = JsonDocument.decode(ErrorBody)

export const decodeErrorBody = (bytes: Uint8Array): Option.Option<ErrorBody> => Either.getRight(decodeJson(bytes))

/** One line for an error message: `MANIFEST_UNKNOWN: manifest unknown; NAME_UNKNOWN` (the server's text escaped). */
export const summarize = (body: ErrorBody): string =>
  oneLine(
    body.errors
      .map((e) => e.message === undefined || e.message === "" ? e.code : `${e.code}: ${e.message}`)
      .join("; ")
  )
