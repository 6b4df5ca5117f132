import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as RaTlsChallenge from "../../../src/services/RaTlsCredentials/RaTlsChallenge.js"

const ascii = (text: string) => new Uint8Array(Buffer.from(text, "latin1"))
const challenge = Uint8Array.from({ length: 64 }, (_, index) => 255 - index)
const entry = RaTlsChallenge.encode(challenge)

const failureOf = (entries: ReadonlyArray<Uint8Array>) =>
  Either.match(RaTlsChallenge.fromCertificateAuthorities(entries), {
    onLeft: (error) => ({ tag: error._tag, message: error.message }),
    onRight: () => ({ tag: "Decoded", message: "" })
  })

describe("RA-TLS challenge in certificate_authorities", () => {
  it("the single entry, base64 of 64 bytes in 88 characters, yields the 64 challenge bytes", () => {
    expect(entry.length).toBe(88)
    const decoded = RaTlsChallenge.fromCertificateAuthorities([entry])
    expect(Either.isRight(decoded) && Buffer.from(decoded.right).equals(Buffer.from(challenge))).toBe(true)
  })

  it("a request without any entry is refused as RaTlsChallengeMissing", () => {
    expect(failureOf([])).toEqual({ tag: "RaTlsChallengeMissing", message: expect.stringContaining("no RA-TLS challenge") })
  })

  it("a request with two entries is refused as RaTlsChallengeAmbiguous with the count", () => {
    const result = RaTlsChallenge.fromCertificateAuthorities([entry, entry])
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "RaTlsChallengeAmbiguous", count: 2 })
  })

  it("an entry of the wrong length is malformed, naming the length", () => {
    expect(failureOf([entry.subarray(0, 87)])).toEqual({ tag: "RaTlsChallengeMalformed", message: expect.stringContaining("got 87 bytes") })
  })

  it("a DER Name in place of the challenge is malformed", () => {
    const derName = new Uint8Array(88)
    derName.set([0x30, 0x56, 0x31, 0x0b])
    expect(failureOf([derName])).toEqual({ tag: "RaTlsChallengeMalformed", message: expect.stringContaining("byte 0x0b at position 3 is not a standard base64 character") })
  })

  it("URL-safe base64 is malformed: the standard alphabet is required", () => {
    const urlSafe = ascii(Buffer.from(new Uint8Array(64).fill(0xfb)).toString("base64url").padEnd(88, "="))
    expect(failureOf([urlSafe])).toEqual({ tag: "RaTlsChallengeMalformed", message: expect.stringContaining("not a standard base64 character") })
  })

  it("an encoding without the final padding is malformed", () => {
    const unpadded = ascii(`${Buffer.from(entry).toString("latin1").slice(0, 86)}AA`)
    expect(failureOf([unpadded])).toEqual({ tag: "RaTlsChallengeMalformed", message: expect.stringContaining("padding") })
  })

  it("a non-canonical last character (stray bits) is malformed", () => {
    const text = Buffer.from(RaTlsChallenge.encode(new Uint8Array(64))).toString("latin1")
    const stray = ascii(`${text.slice(0, 85)}B==`)
    expect(failureOf([stray])).toEqual({ tag: "RaTlsChallengeMalformed", message: expect.stringContaining("canonical") })
  })

  it("every 64-byte challenge survives encode then decode", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (bytes) => {
        const decoded = RaTlsChallenge.decode(RaTlsChallenge.encode(bytes))
        return Either.isRight(decoded) && Buffer.from(decoded.right).equals(Buffer.from(bytes))
      }),
      { numRuns: 300 }
    )
  })

  it("any other entry is either refused as malformed or is exactly the encoding of what it decodes to", () => {
    const near = fc.uint8Array({ minLength: 64, maxLength: 64 }).chain((bytes) =>
      fc.tuple(fc.nat(87), fc.integer({ min: 0, max: 255 })).map(([position, value]) => {
        const mutated = RaTlsChallenge.encode(bytes)
        mutated[position] = value
        return mutated
      })
    )
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 100 }), near), (input) =>
        Either.match(RaTlsChallenge.decode(input), {
          onLeft: (error) => error._tag === "RaTlsChallengeMalformed",
          onRight: (decoded) => decoded.length === 64 && Buffer.from(RaTlsChallenge.encode(decoded)).equals(Buffer.from(input))
        })),
      { numRuns: 500 }
    )
  })
})
