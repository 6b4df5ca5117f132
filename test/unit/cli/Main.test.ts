// The line both CLIs print for a failure: the error's message and tag on one line, with whatever a
// registry or a file put in the message (line breaks, terminal escapes) neutralised before the terminal.
import { Data } from "effect"
import { describe, expect, it } from "vitest"
import { describeError } from "../../../src/cli/Main.js"

class RegistryRefused extends Data.TaggedError("RegistryRefused")<{ readonly detail: string }> {
  override get message(): string {
    return `GET /v2/app/manifests/v1 on registry: DENIED: ${this.detail}`
  }
}

describe("describeError", () => {
  it("names the error by its message and tag", () => {
    expect(describeError(new RegistryRefused({ detail: "no" }))).toBe(
      "GET /v2/app/manifests/v1 on registry: DENIED: no [RegistryRefused]"
    )
  })

  it("prints a hostile message on one line with its control characters escaped", () => {
    const line = describeError(new RegistryRefused({ detail: "first\nsecond\r\u001b]0;title\u0007\u001b[2J" }))
    expect(line).toBe(
      "GET /v2/app/manifests/v1 on registry: DENIED: first second \\u001b]0;title\\u0007\\u001b[2J [RegistryRefused]"
    )
  })

  it("describes a tagged error without a message by its fields, escaped too", () => {
    const error = { _tag: "Odd", field: "a\u001bb" }
    expect(describeError(error)).toBe(`Odd {"_tag":"Odd","field":"a\\u001bb"}`)
  })
})
