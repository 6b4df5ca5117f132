// The server's challenge as RA-TLS carries it (RA-TLS.md section 1.2): the single certificate_authorities
// entry of the CertificateRequest, whose bytes are not a DER Name but the ASCII of standard, padded base64
// (88 characters) of 64 random bytes. Anything else is refused with the reason, before any token is made.
import { Data, Either } from "effect"

export const ChallengeLength = 64
export const EncodedLength = 88

/** The server asked for a certificate but named no authority, so there is no challenge to answer. */
export class RaTlsChallengeMissing extends Data.TaggedError("RaTlsChallengeMissing")<{}> {
  override get message(): string {
    return "the server's certificate request carries no RA-TLS challenge (no certificate_authorities entry)"
  }
}

/** More than one authority: RA-TLS sends exactly one, and guessing which one is the challenge is unsafe. */
export class RaTlsChallengeAmbiguous extends Data.TaggedError("RaTlsChallengeAmbiguous")<{ readonly count: number }> {
  override get message(): string {
    return `the server's certificate request carries ${this.count} certificate_authorities entries, RA-TLS expects exactly one challenge`
  }
}

/** The one authority is not standard base64 of 64 bytes. */
export class RaTlsChallengeMalformed extends Data.TaggedError("RaTlsChallengeMalformed")<{ readonly reason: string }> {
  override get message(): string {
    return `the server's RA-TLS challenge is malformed: ${this.reason}`
  }
}

export type RaTlsChallengeError = RaTlsChallengeMissing | RaTlsChallengeAmbiguous | RaTlsChallengeMalformed

const base64Character = /^[A-Za-z0-9+/]$/

const malformed = (reason: string) => Either.left(new RaTlsChallengeMalformed({ reason }))

/** Decodes one entry, accepting only the canonical encoding so that a challenge has one spelling. */
export const decode = (entry: Uint8Array): Either.Either<Uint8Array, RaTlsChallengeMalformed> => {
  if (entry.length !== EncodedLength) {
    return malformed(`expected ${EncodedLength} base64 characters, got ${entry.length} bytes`)
  }
  const text = Buffer.from(entry).toString("latin1")
  for (let position = 0; position < EncodedLength - 2; position++) {
    const character = text[position]!
    if (!base64Character.test(character)) {
      return malformed(`byte 0x${entry[position]!.toString(16).padStart(2, "0")} at position ${position} is not a standard base64 character`)
    }
  }
  if (!text.endsWith("==")) return malformed("the encoding does not end with the \"==\" padding of 64 bytes")
  const challenge = new Uint8Array(Buffer.from(text, "base64"))
  if (Buffer.from(challenge).toString("base64") !== text) {
    return malformed("the last base64 character carries bits beyond the 64 bytes (not the canonical encoding)")
  }
  return Either.right(challenge)
}

/** The challenge of a CertificateRequest's certificate_authorities entries. */
export const fromCertificateAuthorities = (
  entries: ReadonlyArray<Uint8Array>
): Either.Either<Uint8Array, RaTlsChallengeError> => {
  if (entries.length === 0) return Either.left(new RaTlsChallengeMissing())
  if (entries.length > 1) return Either.left(new RaTlsChallengeAmbiguous({ count: entries.length }))
  return decode(entries[0]!)
}

/** The entry a server sends for `challenge` (for servers and tests). */
export const encode = (challenge: Uint8Array): Uint8Array => new Uint8Array(Buffer.from(Buffer.from(challenge).toString("base64"), "ascii"))
