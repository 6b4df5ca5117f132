import { Either, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as RepositoryName from "../../../src/domain/RepositoryName.js"

const grammar = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
const acceptedBySpec = (s: string): boolean => s.length <= 255 && grammar.test(s)

const reasonOf = (input: string): string =>
  Either.match(RepositoryName.parse(input), { onLeft: (e) => e.reason, onRight: () => "accepted" })

describe("RepositoryName.parse", () => {
  it.each([
    "ubuntu",
    "library/ubuntu",
    "com.samsung.example.app",
    "my_org/my__app/sub---part",
    "a/b/c/d/e",
    "0/9"
  ])("accepts %s", (s) => {
    expect(RepositoryName.parse(s)).toStrictEqual(Either.right(s))
  })

  it("rejects the empty string", () => {
    expect(reasonOf("")).toBe("a repository name cannot be empty")
  })

  it("rejects a name longer than 255 characters", () => {
    expect(reasonOf(`${"a".repeat(200)}/${"b".repeat(55)}`)).toBe(
      "a repository name has at most 255 characters, got 256"
    )
  })

  it("rejects leading, trailing and doubled slashes", () => {
    expect(reasonOf("/ubuntu")).toBe(`path component 1 is empty (no leading, trailing or doubled "/")`)
    expect(reasonOf("library/")).toBe(`path component 2 is empty (no leading, trailing or doubled "/")`)
    expect(reasonOf("a//b")).toBe(`path component 2 is empty (no leading, trailing or doubled "/")`)
  })

  it("rejects uppercase letters and names the letter", () => {
    const error = Either.getOrThrow(Either.flip(RepositoryName.parse("library/Ubuntu")))
    expect(error._tag).toBe("InvalidRepositoryName")
    expect(error.message).toBe(
      `invalid repository name "library/Ubuntu": path component 2 "Ubuntu" contains the uppercase letter "U" (only lowercase is allowed)`
    )
  })

  it("rejects characters outside the grammar", () => {
    expect(reasonOf("my app")).toBe(
      `path component 1 "my app" contains " " (only a-z, 0-9, ".", "_", "__" and "-" are allowed)`
    )
    expect(Either.isLeft(RepositoryName.parse("repo:tag"))).toBe(true)
  })

  it.each(["-app", "app-", "a..b", "a___b", "a.-b", "_a", "a."])("rejects badly placed separators in %s", (s) => {
    expect(reasonOf(s)).toMatch(/must start and end with a letter or digit/)
  })

  it("rejects path traversal components", () => {
    expect(Either.isLeft(RepositoryName.parse("../etc"))).toBe(true)
    expect(Either.isLeft(RepositoryName.parse("a/./b"))).toBe(true)
  })

  it("accepts exactly the strings the distribution spec's name grammar matches", () => {
    const alphabet = fc.constantFrom(..."ab09._-/A: ")
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: alphabet, maxLength: 24 }),
          fc.string(),
          fc.string({ unit: fc.constantFrom(..."ab/"), minLength: 250, maxLength: 260 })
        ),
        (s) => {
          expect(Either.isRight(RepositoryName.parse(s))).toBe(acceptedBySpec(s))
        }
      ),
      { numRuns: 2000 }
    )
  })

  it("accepts every name generated from the grammar that fits in 255 characters", () => {
    fc.assert(
      fc.property(fc.stringMatching(grammar), (s) => {
        expect(Either.isRight(RepositoryName.parse(s))).toBe(s.length <= 255)
      })
    )
  })

  it("never throws and keeps messages on one line", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        Either.mapLeft(RepositoryName.parse(s), (e) => expect(e.message).not.toMatch(/[\n\r]/))
      })
    )
  })
})

describe("RepositoryName.RepositoryName schema", () => {
  it("decodes a valid name and rejects an invalid one with the parser's reason", () => {
    expect(Schema.decodeUnknownEither(RepositoryName.RepositoryName)("library/ubuntu")).toStrictEqual(
      Either.right("library/ubuntu")
    )
    const error = Either.getOrThrow(Either.flip(Schema.decodeUnknownEither(RepositoryName.RepositoryName)("A")))
    expect(error.message).toContain(`contains the uppercase letter "A"`)
  })
})
