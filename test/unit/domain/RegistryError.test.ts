import { Option } from "effect"
import { describe, expect, it } from "vitest"
import * as RegistryError from "../../../src/domain/RegistryError.js"

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe("RegistryError.decodeErrorBody", () => {
  it("reads a distribution-spec error body", () => {
    const body = `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}`
    expect(RegistryError.decodeErrorBody(bytes(body))).toStrictEqual(
      Option.some({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "nope" } }] })
    )
  })

  it("reads a Docker Hub authentication error with a list as detail", () => {
    const body =
      `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Name":"library/foo","Action":"pull"}]}]}`
    const decoded = Option.getOrThrow(RegistryError.decodeErrorBody(bytes(body)))
    expect(decoded.errors[0]?.code).toBe("UNAUTHORIZED")
  })

  it("keeps codes that are not in the spec", () => {
    const decoded = RegistryError.decodeErrorBody(bytes(`{"errors":[{"code":"QUOTA_EXCEEDED"}]}`))
    expect(Option.map(decoded, (b) => b.errors.map((e) => e.code))).toStrictEqual(Option.some(["QUOTA_EXCEEDED"]))
  })

  it.each([
    "<html><body>502 Bad Gateway</body></html>",
    "",
    `{"error":"not found"}`,
    `{"errors":[{"message":"no code"}]}`,
    `{"errors":"MANIFEST_UNKNOWN"}`
  ])("finds no error body in %s", (text) => {
    expect(RegistryError.decodeErrorBody(bytes(text))).toStrictEqual(Option.none())
  })
})

describe("RegistryError.summarize", () => {
  it("puts every error on one line", () => {
    expect(
      RegistryError.summarize({
        errors: [{ code: "NAME_UNKNOWN", message: "repository name not\nknown to registry" }, { code: "DENIED" }]
      })
    ).toBe("NAME_UNKNOWN: repository name not known to registry; DENIED")
  })
})

describe("RegistryError.summarize with hostile text", () => {
  it("escapes terminal control sequences a registry puts in its messages", () => {
    const summary = RegistryError.summarize({
      errors: [{ code: "DENIED", message: "\u001b]0;owned\u0007\u001b[2Jgone\u009b31m" }]
    })
    expect(summary).toBe("DENIED: \\u001b]0;owned\\u0007\\u001b[2Jgone\\u009b31m")
    expect(summary).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
  })
})
