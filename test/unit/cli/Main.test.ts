// The lines both CLIs print on stderr, for a failure (message and tag) and for a log record: one line each,
// with whatever a registry or a file put in them (line breaks, terminal escapes) neutralised.
import { Data } from "effect"
import { describe, expect, it } from "vitest"
import { describeError, logLine } from "../../../src/cli/Main.js"

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

describe("logLine", () => {
  it("writes a record and its annotations on one line", () => {
    expect(logLine("get-image", "INFO", "image found", [["digest", "sha256:ab"], ["layers", 5]])).toBe(
      "get-image: INFO image found digest=sha256:ab layers=5"
    )
  })

  it("neutralises line breaks and terminal escapes in messages and annotation values", () => {
    const line = logLine("client", "WARN", ["skipped", "a\nb"], [["entry", "dev/\u001b[2Jx"]])
    expect(line).toBe("client: WARN skipped a b entry=dev/\\u001b[2Jx")
    expect(line).not.toMatch(/[\u0000-\u001f]/)
  })
})
