import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Descriptor from "../../../src/domain/Descriptor.js"

const decode = Schema.decodeUnknownEither(Descriptor.Descriptor)
const digest = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"

describe("Descriptor.Descriptor", () => {
  it("decodes a minimal descriptor", () => {
    const input = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: 7682 }
    expect(decode(input)).toStrictEqual(Either.right(input))
  })

  it("decodes every optional field", () => {
    const input = {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      size: 2,
      urls: ["https://example.com/blob"],
      annotations: { "org.opencontainers.image.ref.name": "stable" },
      platform: { architecture: "arm64", os: "linux", variant: "v8" },
      artifactType: "application/vnd.example+type",
      data: "e30="
    }
    expect(decode(input)).toStrictEqual(Either.right(input))
  })

  it("keeps a size up to the largest safe integer", () => {
    const input = { mediaType: "x", digest, size: Number.MAX_SAFE_INTEGER }
    expect(Either.isRight(decode(input))).toBe(true)
  })

  it.each([-1, 1.5, 2 ** 53, "12", null])("rejects the size %s", (size) => {
    expect(Either.isLeft(decode({ mediaType: "x", digest, size }))).toBe(true)
  })

  it("rejects a malformed digest", () => {
    const error = Either.getOrThrow(Either.flip(decode({ mediaType: "x", digest: "sha256:abc", size: 1 })))
    expect(error.message).toContain("sha256 needs 64 lowercase hex characters, got 3")
  })

  it("rejects data that is not base64", () => {
    expect(Either.isLeft(decode({ mediaType: "x", digest, size: 1, data: "not base64!" }))).toBe(true)
    expect(Either.isLeft(decode({ mediaType: "x", digest, size: 1, data: "abc" }))).toBe(true)
  })

  it("rejects annotations whose values are not strings", () => {
    expect(Either.isLeft(decode({ mediaType: "x", digest, size: 1, annotations: { a: 1 } }))).toBe(true)
  })

  it("requires mediaType, digest and size", () => {
    expect(Either.isLeft(decode({ digest, size: 1 }))).toBe(true)
    expect(Either.isLeft(decode({ mediaType: "x", size: 1 }))).toBe(true)
    expect(Either.isLeft(decode({ mediaType: "x", digest }))).toBe(true)
  })
})
