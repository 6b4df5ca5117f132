import { Either, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Platform from "../../../src/domain/Platform.js"

const linux = (architecture: string, variant?: string): Platform.Platform =>
  variant === undefined ? { os: "linux", architecture } : { os: "linux", architecture, variant }

describe("Platform.forNodeArch", () => {
  it.each([
    ["x64", linux("amd64")],
    ["arm64", linux("arm64", "v8")],
    ["ia32", linux("386")],
    ["arm", linux("arm")],
    ["ppc64", linux("ppc64le")],
    ["s390x", linux("s390x")],
    ["riscv64", linux("riscv64")]
  ])("maps Node's %s to the OCI platform", (arch, expected) => {
    expect(Platform.forNodeArch(arch)).toStrictEqual(expected)
  })

  it("does not treat inherited object keys as architectures", () => {
    expect(Platform.forNodeArch("constructor")).toStrictEqual(linux("constructor"))
  })
})

describe("Platform.current", () => {
  it("is linux on the architecture this process runs on", () => {
    expect(Platform.current()).toStrictEqual(Platform.forNodeArch(process.arch))
  })
})

describe("Platform.parse", () => {
  it("reads os, architecture and variant", () => {
    expect(Platform.parse("linux/arm64/v8")).toStrictEqual(Either.right(linux("arm64", "v8")))
  })

  it("reads os and architecture without a variant", () => {
    expect(Platform.parse("linux/amd64")).toStrictEqual(Either.right(linux("amd64")))
  })

  it("maps uname spellings and case to OCI names", () => {
    expect(Platform.parse("Linux/x86_64")).toStrictEqual(Either.right(linux("amd64")))
    expect(Platform.parse("linux/aarch64")).toStrictEqual(Either.right(linux("arm64")))
  })

  it("rejects a bare os, naming the expected form", () => {
    const error = Either.getOrThrow(Either.flip(Platform.parse("linux")))
    expect(error._tag).toBe("InvalidPlatform")
    expect(error.message).toBe(
      `invalid platform "linux": expected "os/architecture" or "os/architecture/variant", got 1 part(s)`
    )
  })

  it("rejects empty parts and too many parts", () => {
    expect(Either.getOrThrow(Either.flip(Platform.parse("linux//v7"))).reason).toBe("the architecture is empty")
    expect(Either.isLeft(Platform.parse("linux/arm/v7/extra"))).toBe(true)
    expect(Either.isLeft(Platform.parse("linux/amd 64"))).toBe(true)
  })

  it("formats a parsed canonical platform back to its text", () => {
    const part = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,8}$/).filter((s) => !["x86_64", "x86-64", "aarch64", "i386"].includes(s))
    fc.assert(
      fc.property(part, part, fc.option(part, { nil: undefined }), (os, arch, variant) => {
        const text = variant === undefined ? `${os}/${arch}` : `${os}/${arch}/${variant}`
        expect(Platform.format(Either.getOrThrow(Platform.parse(text)))).toBe(text)
      })
    )
  })
})

describe("Platform.matches", () => {
  it("accepts the same os and architecture", () => {
    expect(Platform.matches(linux("amd64"), linux("amd64"))).toBe(true)
  })

  it("refuses another architecture or os", () => {
    expect(Platform.matches(linux("ppc64le"), linux("amd64"))).toBe(false)
    expect(Platform.matches({ os: "windows", architecture: "amd64" }, linux("amd64"))).toBe(false)
  })

  it("accepts any variant when none is wanted", () => {
    expect(Platform.matches(linux("arm", "v6"), linux("arm"))).toBe(true)
  })

  it("requires the wanted variant when one is named", () => {
    expect(Platform.matches(linux("arm", "v6"), linux("arm", "v7"))).toBe(false)
    expect(Platform.matches(linux("arm"), linux("arm", "v7"))).toBe(false)
    expect(Platform.matches(linux("arm", "v7"), linux("arm", "v7"))).toBe(true)
  })

  it("treats an arm64 entry without a variant as v8", () => {
    expect(Platform.matches(linux("arm64"), linux("arm64", "v8"))).toBe(true)
    expect(Platform.matches(linux("arm64", "v8"), linux("arm64"))).toBe(true)
    expect(Platform.matches(linux("arm64"), linux("arm64", "v9"))).toBe(false)
  })

  it("matches an index entry written as aarch64 against arm64/v8", () => {
    expect(Platform.matches(linux("aarch64"), linux("arm64", "v8"))).toBe(true)
    expect(Platform.matches(linux("x86_64"), linux("amd64"))).toBe(true)
  })
})

describe("Platform.Platform schema", () => {
  it("decodes an index entry's platform with os.version and features", () => {
    const input = { architecture: "amd64", os: "windows", "os.version": "10.0.17763.1879", "os.features": ["win32k"] }
    expect(Schema.decodeUnknownEither(Platform.Platform)(input)).toStrictEqual(Either.right(input))
  })

  it("requires os and architecture", () => {
    expect(Either.isLeft(Schema.decodeUnknownEither(Platform.Platform)({ os: "linux" }))).toBe(true)
  })
})
