import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Digest from "../../../src/domain/Digest.js"
import * as Reference from "../../../src/domain/Reference.js"
import * as Tag from "../../../src/domain/Tag.js"

const digestText = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

const validReference = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/),
  fc.uint8Array().map((b) => Digest.fromBytes(b) as string),
  fc.uint8Array().map((b) => Digest.fromBytes(b, "sha512") as string)
)

describe("Reference.parse", () => {
  it("reads text without a colon as a tag", () => {
    const reference = Either.getOrThrow(Reference.parse("stable"))
    expect(reference._tag).toBe("Tag")
    expect(Reference.isTag(reference) && reference.tag).toBe("stable")
  })

  it("reads text with a colon as a digest", () => {
    const reference = Either.getOrThrow(Reference.parse(digestText))
    expect(reference._tag).toBe("Digest")
    expect(Reference.isDigest(reference) && reference.digest).toBe(digestText)
  })

  it("rejects text with a colon that is not a digest, explaining the digest rule", () => {
    const error = Either.getOrThrow(Either.flip(Reference.parse("sha256:abc")))
    expect(error._tag).toBe("InvalidReference")
    expect(error.message).toBe(
      `invalid reference "sha256:abc": not a valid digest: sha256 needs 64 lowercase hex characters, got 3`
    )
  })

  it("rejects a repository-qualified reference such as ubuntu:latest as a bad digest", () => {
    expect(Either.getOrThrow(Either.flip(Reference.parse("ubuntu:latest"))).reason).toMatch(/^not a valid digest/)
  })

  it("rejects text without a colon that is not a tag, explaining the tag rule", () => {
    const error = Either.getOrThrow(Either.flip(Reference.parse("-bad")))
    expect(error.reason).toBe(`not a valid tag: a tag starts with a letter, a digit or "_", not "-"`)
  })

  it("rejects the empty string", () => {
    expect(Either.isLeft(Reference.parse(""))).toBe(true)
  })

  it("formats back to the text it was parsed from", () => {
    fc.assert(
      fc.property(validReference, (s) => {
        expect(Reference.format(Either.getOrThrow(Reference.parse(s)))).toBe(s)
      })
    )
  })

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        Either.mapLeft(Reference.parse(s), (e) => expect(e.message).not.toMatch(/[\n\r]/))
      })
    )
  })
})

describe("Reference constructors", () => {
  it("build the same values as parse", () => {
    const tag = Either.getOrThrow(Tag.parse("v1"))
    const digest = Either.getOrThrow(Digest.parse(digestText))
    expect(Reference.fromTag(tag)).toStrictEqual(Either.getOrThrow(Reference.parse("v1")))
    expect(Reference.fromDigest(digest)).toStrictEqual(Either.getOrThrow(Reference.parse(digestText)))
  })

  it("are distinguished by match", () => {
    const describe = Reference.match({ Tag: ({ tag }) => `tag ${tag}`, Digest: ({ digest }) => `digest ${digest}` })
    expect(describe(Either.getOrThrow(Reference.parse("v1")))).toBe("tag v1")
    expect(describe(Either.getOrThrow(Reference.parse(digestText)))).toBe(`digest ${digestText}`)
  })
})
