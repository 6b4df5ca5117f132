import { Either, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Digest from "../../../src/domain/Digest.js"

const emptySha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
const emptySha512 =
  "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
const helloSha256 = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

const reasonOf = (input: string): string =>
  Either.match(Digest.parse(input), { onLeft: (e) => e.reason, onRight: () => "accepted" })

describe("Digest.parse", () => {
  it("accepts a sha256 digest of 64 lowercase hex characters", () => {
    expect(Digest.parse(emptySha256)).toStrictEqual(Either.right(emptySha256))
  })

  it("accepts a sha512 digest of 128 lowercase hex characters", () => {
    expect(Digest.parse(emptySha512)).toStrictEqual(Either.right(emptySha512))
  })

  it("rejects a sha256 digest that is too short and says how many characters it got", () => {
    const error = Either.getOrThrow(Either.flip(Digest.parse("sha256:abc")))
    expect(error._tag).toBe("InvalidDigest")
    expect(error.input).toBe("sha256:abc")
    expect(error.message).toBe(`invalid digest "sha256:abc": sha256 needs 64 lowercase hex characters, got 3`)
  })

  it("rejects uppercase hex and names the offending character", () => {
    expect(reasonOf(emptySha256.toUpperCase().replace("SHA256", "sha256"))).toBe(
      `sha256 needs 64 lowercase hex characters, found "E" at position 1`
    )
  })

  it("rejects a sha512 digest with a sha256-sized encoded part", () => {
    expect(reasonOf(`sha512:${emptySha256.slice(7)}`)).toBe("sha512 needs 128 lowercase hex characters, got 64")
  })

  it("rejects algorithms other than sha256 and sha512, naming the algorithm", () => {
    expect(reasonOf("md5:d41d8cd98f00b204e9800998ecf8427e")).toBe(
      `unsupported algorithm "md5" (sha256 and sha512 are supported)`
    )
  })

  it("rejects text without a colon", () => {
    expect(reasonOf("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")).toBe(
      `expected "algorithm:encoded", found no ":"`
    )
  })

  it("rejects a digest with an empty algorithm", () => {
    expect(reasonOf(`:${emptySha256.slice(7)}`)).toBe(`the algorithm before ":" is missing`)
  })

  it("rejects the empty string", () => {
    expect(Either.isLeft(Digest.parse(""))).toBe(true)
  })

  it("rejects surrounding whitespace", () => {
    expect(Either.isLeft(Digest.parse(` ${emptySha256}`))).toBe(true)
    expect(Either.isLeft(Digest.parse(`${emptySha256}\n`))).toBe(true)
  })

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const result = Digest.parse(s)
        expect(Either.isLeft(result) || Either.isRight(result)).toBe(true)
      })
    )
  })

  it("keeps error messages on one line, even for inputs with newlines", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        Either.mapLeft(Digest.parse(s), (e) => expect(e.message).not.toMatch(/[\n\r]/))
      })
    )
  })

  it("accepts exactly the strings made of a registered algorithm and enough lowercase hex", () => {
    const pattern = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/
    const nearDigest = fc.tuple(
      fc.constantFrom("sha256", "sha512", "SHA256", "md5", ""),
      fc.constantFrom(":", "", "::"),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEFg:"), minLength: 60, maxLength: 130 })
    ).map(([a, c, e]) => `${a}${c}${e}`)
    fc.assert(
      fc.property(fc.oneof(nearDigest, fc.string()), (s) => {
        expect(Either.isRight(Digest.parse(s))).toBe(pattern.test(s))
      })
    )
  })
})

describe("Digest.fromBytes", () => {
  it("hashes with sha256 by default", () => {
    expect(Digest.fromBytes(new TextEncoder().encode("hello"))).toBe(helloSha256)
  })

  it("hashes with sha512 when asked", () => {
    expect(Digest.fromBytes(new Uint8Array(), "sha512")).toBe(emptySha512)
  })

  it("produces digests that parse back to themselves", () => {
    fc.assert(
      fc.property(fc.uint8Array(), fc.constantFrom("sha256" as const, "sha512" as const), (bytes, alg) => {
        const digest = Digest.fromBytes(bytes, alg)
        expect(Digest.parse(digest)).toStrictEqual(Either.right(digest))
        expect(Digest.algorithm(digest)).toBe(alg)
      })
    )
  })
})

describe("Digest.hasher", () => {
  it("gives the same digest fed in chunks as fromBytes over the whole", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array()), fc.constantFrom("sha256" as const, "sha512" as const), (chunks, alg) => {
        const h = Digest.hasher(alg)
        chunks.forEach((c) => h.update(c))
        expect(h.digest()).toBe(Digest.fromBytes(Buffer.concat(chunks), alg))
      })
    )
  })

  it("hashes nothing to the digest of the empty string", () => {
    expect(Digest.hasher("sha256").digest()).toBe(emptySha256)
  })
})

describe("Digest.algorithm and Digest.encoded", () => {
  it("split a digest at its colon", () => {
    const digest = Either.getOrThrow(Digest.parse(helloSha256))
    expect(Digest.algorithm(digest)).toBe("sha256")
    expect(Digest.encoded(digest)).toBe(helloSha256.slice(7))
  })
})

describe("Digest.Digest schema", () => {
  it("decodes a valid digest string", () => {
    expect(Schema.decodeUnknownEither(Digest.Digest)(helloSha256)).toStrictEqual(Either.right(helloSha256))
  })

  it("rejects an invalid digest with the parser's reason", () => {
    const error = Either.getOrThrow(Either.flip(Schema.decodeUnknownEither(Digest.Digest)("sha256:abc")))
    expect(error.message).toContain("sha256 needs 64 lowercase hex characters, got 3")
  })

  it("rejects non-strings", () => {
    expect(Either.isLeft(Schema.decodeUnknownEither(Digest.Digest)(42))).toBe(true)
  })
})
