import { Either } from "effect"
import { describe, expect, it } from "vitest"
import * as TagList from "../../../src/domain/TagList.js"

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe("TagList.decode", () => {
  it("reads a page of tags", () => {
    expect(TagList.decode(bytes(`{"name":"library/ubuntu","tags":["20.04","22.04","latest"]}`))).toStrictEqual(
      Either.right({ name: "library/ubuntu", tags: ["20.04", "22.04", "latest"] })
    )
  })

  it("reads null tags as an empty list", () => {
    expect(TagList.decode(bytes(`{"name":"empty","tags":null}`))).toStrictEqual(
      Either.right({ name: "empty", tags: [] })
    )
  })

  it("reads missing tags as an empty list", () => {
    expect(TagList.decode(bytes(`{"name":"empty"}`))).toStrictEqual(Either.right({ name: "empty", tags: [] }))
  })

  it("refuses an invalid tag, naming its position", () => {
    const error = Either.getOrThrow(Either.flip(TagList.decode(bytes(`{"name":"a","tags":["ok","bad/tag"]}`))))
    expect(error._tag).toBe("InvalidTagList")
    expect(error.message).toBe(
      `invalid tag list: tags[1]: character "/" at position 4 is not allowed (letters, digits, "_", "." and "-" only)`
    )
  })

  it("requires the repository name", () => {
    expect(Either.getOrThrow(Either.flip(TagList.decode(bytes(`{"tags":[]}`)))).reason).toBe("name: is missing")
  })

  it("refuses text that is not JSON", () => {
    expect(Either.getOrThrow(Either.flip(TagList.decode(bytes("<html>")))).reason).toMatch(/^not valid JSON/)
  })
})
