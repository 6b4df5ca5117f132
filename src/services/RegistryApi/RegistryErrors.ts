/**
 * What can go wrong when talking to a registry, beyond the transport: the registry said no (with an OCI
 * error code), asked for credentials, or sent something that does not match what was asked for.
 */
import { Data } from "effect"
import type { ErrorCode } from "../../domain/RegistryError.js"

/** The registry answered with an error status; `code` is the OCI code from its body (or `UNKNOWN`). */
export class RegistryError extends Data.TaggedError("RegistryError")<{
  readonly host: string
  readonly request: string
  readonly status: number
  readonly code: ErrorCode
  readonly detail: string
}> {
  override get message(): string {
    return `${this.request} on ${this.host}: ${this.code} (HTTP ${this.status})${this.detail !== "" ? `: ${this.detail}` : ""}`
  }
}

/** HTTP 401: the registry wants credentials; `challenge` is its `WWW-Authenticate` header. */
export class Unauthorized extends Data.TaggedError("Unauthorized")<{
  readonly host: string
  readonly request: string
  readonly challenge: string
}> {
  override get message(): string {
    return `${this.request} on ${this.host}: unauthorized${this.challenge !== "" ? ` (challenge: ${this.challenge})` : ""}`
  }
}

/** Bytes did not hash to the digest they were fetched by or announced with. */
export class DigestMismatch extends Data.TaggedError("DigestMismatch")<{
  readonly subject: string
  readonly expected: string
  readonly actual: string
}> {
  override get message(): string {
    return `${this.subject}: content hashes to ${this.actual}, expected ${this.expected}`
  }
}

/** A blob was longer or shorter than its descriptor says. */
export class SizeMismatch extends Data.TaggedError("SizeMismatch")<{
  readonly subject: string
  readonly expected: number
  /** Bytes seen; for a body that is too long, the count at which reading stopped. */
  readonly actual: number
}> {
  override get message(): string {
    return this.actual > this.expected
      ? `${this.subject}: more than the expected ${this.expected} bytes`
      : `${this.subject}: ${this.actual} bytes, expected ${this.expected}`
  }
}

/** A manifest larger than the limit (4 MiB by default) is refused unread. */
export class ManifestTooLarge extends Data.TaggedError("ManifestTooLarge")<{
  readonly subject: string
  readonly limit: number
}> {
  override get message(): string {
    return `${this.subject}: manifest larger than ${this.limit} bytes`
  }
}

/** The registry answered in a way the protocol does not allow (bad header, odd status, foreign redirect). */
export class InvalidResponse extends Data.TaggedError("InvalidResponse")<{
  readonly host: string
  readonly request: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.request} on ${this.host}: ${this.reason}`
  }
}
