// Why a token resolver produced no attestation token. Every error names its source (the file, the program,
// the function) so a failed RA-TLS handshake can say where the token should have come from.
import { Data } from "effect"

/** The token file could not be read (missing, a directory, no permission, ...). */
export class TokenFileUnreadable extends Data.TaggedError("TokenFileUnreadable")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `token file ${this.path} cannot be read: ${this.reason}`
  }
}

/** The source answered with zero bytes, which no verifier accepts as a token. */
export class TokenEmpty extends Data.TaggedError("TokenEmpty")<{ readonly source: string }> {
  override get message(): string {
    return `${this.source} gave an empty attestation token`
  }
}

/** The source answered with more bytes than a token can plausibly have. */
export class TokenTooLarge extends Data.TaggedError("TokenTooLarge")<{ readonly source: string; readonly limit: number }> {
  override get message(): string {
    return `${this.source} gave more than ${this.limit} bytes, too much for an attestation token`
  }
}

/** The token program could not be started (not found, not executable, ...). */
export class TokenCommandNotStarted extends Data.TaggedError("TokenCommandNotStarted")<{
  readonly command: string
  readonly reason: string
}> {
  override get message(): string {
    return `token command ${this.command} could not be started: ${this.reason}`
  }
}

/** The token program ended with a non-zero status or a signal; `stderr` is the end of what it reported. */
export class TokenCommandFailed extends Data.TaggedError("TokenCommandFailed")<{
  readonly command: string
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stderr: string
}> {
  override get message(): string {
    const ending = this.signal !== null ? `was killed by ${this.signal}` : `exited with status ${this.exitCode}`
    return `token command ${this.command} ${ending}${this.stderr === "" ? "" : `: ${this.stderr}`}`
  }
}

/** The token program did not finish in time; it has been killed. */
export class TokenCommandTimedOut extends Data.TaggedError("TokenCommandTimedOut")<{
  readonly command: string
  readonly millis: number
}> {
  override get message(): string {
    return `token command ${this.command} did not finish within ${this.millis} ms`
  }
}

/** A caller-supplied resolver function failed. */
export class TokenResolverFailed extends Data.TaggedError("TokenResolverFailed")<{
  readonly source: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.source} failed: ${this.reason}`
  }
}

export type TokenResolverError =
  | TokenFileUnreadable
  | TokenEmpty
  | TokenTooLarge
  | TokenCommandNotStarted
  | TokenCommandFailed
  | TokenCommandTimedOut
  | TokenResolverFailed
