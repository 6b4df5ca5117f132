import { Either, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Tag from "../../../src/domain/Tag.js"

const grammar = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/

const reasonOf = (input: string): string =>
  Either.match(Tag.parse(input), { onLeft: (e) => e.reason, onRight: () => "accepted" })

describe("Tag.parse", () => {
  it.each(["latest", "v1.2.3", "_private", "1.0-rc.1", "A_b-C.d", "x".repeat(128)])("accepts %s", (s) => {
    expect(Tag.parse(s)).toStrictEqual(Either.right(s))
  })

  it("rejects the empty string", () => {
    expect(reasonOf("")).toBe("a tag cannot be empty")
  })

  it("rejects a tag of 129 characters and says how long it was", () => {
    expect(reasonOf("a".repeat(129))).toBe("a tag has at most 128 characters, got 129")
  })

  it("rejects a tag starting with a dot or a dash", () => {
    expect(reasonOf(".hidden")).toBe(`a tag starts with a letter, a digit or "_", not "."`)
    expect(reasonOf("-x")).toBe(`a tag starts with a letter, a digit or "_", not "-"`)
  })

  it("rejects a colon, a slash or an at sign and reads well on one line", () => {
    const error = Either.getOrThrow(Either.flip(Tag.parse("v1:2")))
    expect(error._tag).toBe("InvalidTag")
    expect(error.message).toBe(
      `invalid tag "v1:2": character ":" at position 3 is not allowed (letters, digits, "_", "." and "-" only)`
    )
    expect(Either.isLeft(Tag.parse("a/b"))).toBe(true)
    expect(Either.isLeft(Tag.parse("a@b"))).toBe(true)
  })

  it("accepts exactly the strings the distribution spec's tag grammar matches", () => {
    const alphabet = fc.constantFrom(..."aZ09_.-:/@ é\n")
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: alphabet, maxLength: 140 }),
          fc.string(),
          fc.string({ unit: fc.constantFrom(..."aZ09_.-"), minLength: 120, maxLength: 140 })
        ),
        (s) => {
          expect(Either.isRight(Tag.parse(s))).toBe(grammar.test(s))
        }
      )
    )
  })

  it("accepts every string generated from the grammar", () => {
    fc.assert(
      fc.property(fc.stringMatching(grammar), (s) => {
        expect(Tag.parse(s)).toStrictEqual(Either.right(s))
      })
    )
  })

  it("never throws and keeps messages on one line", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        Either.mapLeft(Tag.parse(s), (e) => expect(e.message).not.toMatch(/[\n\r]/))
      })
    )
  })
})

describe("Tag.Tag schema", () => {
  it("decodes a valid tag and rejects an invalid one with the parser's reason", () => {
    expect(Schema.decodeUnknownEither(Tag.Tag)("stable")).toStrictEqual(Either.right("stable"))
    const error = Either.getOrThrow(Either.flip(Schema.decodeUnknownEither(Tag.Tag)("")))
    expect(error.message).toContain("a tag cannot be empty")
  })
})
