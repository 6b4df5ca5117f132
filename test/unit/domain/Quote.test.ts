// Untrusted text in messages: quoted names and free text stay on one line, and no control character
// (a terminal escape, a NUL, a C1 CSI) reaches a terminal raw.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { oneLine, quote, withoutControls } from "../../../src/domain/internal/Quote.js"

const rawControls = /[\u0000-\u001f\u007f-\u009f]/

describe("Quote", () => {
  it("quote escapes DEL and C1 controls besides what JSON escapes", () => {
    expect(quote("a\u007fb\u009bc\nd")).toBe(`"a\\u007fb\\u009bc\\nd"`)
  })

  it("quote shortens long input", () => {
    expect(quote("x".repeat(500))).toBe(`"${"x".repeat(100)}…"`)
  })

  it("oneLine turns runs of white space into one space and escapes other controls", () => {
    expect(oneLine("a\r\n\tb\u2028c\u0000d\u001b[31me")).toBe("a b c\\u0000d\\u001b[31me")
  })

  it("withoutControls keeps line breaks and escapes the rest", () => {
    expect(withoutControls("line 1\nline 2\u001b[2J\r")).toBe("line 1\nline 2\\u001b[2J\\u000d")
  })

  it("no raw control character or line break survives, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        expect(oneLine(text)).not.toMatch(rawControls)
        expect(oneLine(text)).not.toMatch(/[\n\r\u2028\u2029]/)
        expect(quote(text)).not.toMatch(rawControls)
        expect(withoutControls(text).replace(/\n/g, "")).not.toMatch(rawControls)
      })
    )
  })
})
