import { generateKeyPairSync } from "node:crypto"
import { Either, Option } from "effect"
import { describe, expect, it } from "vitest"
import * as Cose from "../../../src/domain/cca/Cose.js"
import { hex } from "./TokenSurgery.js"

const keyPair = (namedCurve: string) => generateKeyPairSync("ec", { namedCurve })

const payload = new TextEncoder().encode("claims")

const decoded = (bytes: Uint8Array) => Either.getOrThrow(Cose.decodeSign1(bytes))

const algorithmOf = (sign1: Cose.Sign1) => Option.getOrThrow(Cose.algorithmFromId(sign1.algorithmId))

describe("COSE_Sign1", () => {
  it.each([
    ["prime256v1", "ES256", "a10126"],
    ["secp384r1", "ES384", "a1013822"],
    ["secp521r1", "ES512", "a1013823"]
  ])("a %s key signs with %s and a protected header of exactly {1: alg}", (curve, algorithm, header) => {
    const sign1 = decoded(Cose.sign(payload, keyPair(curve).privateKey))
    expect(algorithmOf(sign1)).toBe(algorithm)
    expect(hex(sign1.protectedHeader)).toBe(header)
  })

  it.each(["prime256v1", "secp384r1", "secp521r1"])("a payload signed with a %s key verifies with its public key", (curve) => {
    const { privateKey, publicKey } = keyPair(curve)
    const sign1 = decoded(Cose.sign(payload, privateKey))
    expect(Cose.verify(sign1, algorithmOf(sign1), publicKey)).toBe(true)
  })

  it("a signature does not verify under another key", () => {
    const sign1 = decoded(Cose.sign(payload, keyPair("secp384r1").privateKey))
    expect(Cose.verify(sign1, "ES384", keyPair("secp384r1").publicKey)).toBe(false)
  })

  it("a truncated signature is simply invalid", () => {
    const { privateKey, publicKey } = keyPair("secp384r1")
    const sign1 = decoded(Cose.sign(payload, privateKey))
    expect(Cose.verify({ ...sign1, signature: sign1.signature.subarray(0, 10) }, "ES384", publicKey)).toBe(false)
  })

  it("a signature covers the protected header", () => {
    const { privateKey, publicKey } = keyPair("secp384r1")
    const sign1 = decoded(Cose.sign(payload, privateKey))
    const otherHeader = Uint8Array.of(0xa2, 0x01, 0x38, 0x22, 0x04, 0x40)
    expect(Cose.verify({ ...sign1, protectedHeader: otherHeader }, "ES384", publicKey)).toBe(false)
  })

  it("the signed bytes are the CBOR array [\"Signature1\", protected, h'', payload]", () => {
    const toBeSigned = Cose.toBeSigned(Uint8Array.of(0xa1, 0x01, 0x38, 0x22), Uint8Array.of(1, 2, 3))
    expect(hex(toBeSigned)).toBe("846a5369676e61747572653144a10138224043010203")
  })

  it("the produced structure is tag 18 around [protected, {}, payload, 96-byte signature] for P-384", () => {
    const bytes = Cose.sign(payload, keyPair("secp384r1").privateKey)
    expect(hex(bytes.subarray(0, 8))).toBe("d28444a1013822a0")
    expect(decoded(bytes).signature.length).toBe(96)
    expect(hex(decoded(bytes).payload)).toBe(hex(payload))
  })

  it("an untagged array is not a COSE_Sign1", () => {
    const untagged = Cose.sign(payload, keyPair("secp384r1").privateKey).subarray(1)
    const result = Cose.decodeSign1(untagged)
    expect(Either.isLeft(result) && result.left.reason).toContain("expected tag 18")
  })

  it("a protected header without alg is rejected", () => {
    const bytes = Uint8Array.of(0xd2, 0x84, 0x41, 0xa0, 0xa0, 0x40, 0x40)
    const result = Cose.decodeSign1(bytes)
    expect(Either.isLeft(result) && result.left.reason).toContain("no integer alg")
  })

  it("COSE algorithm ids map to ES256, ES384 and ES512 only", () => {
    expect([-7, -35, -36, -37, 1].map((id) => Option.getOrNull(Cose.algorithmFromId(id)))).toEqual([
      "ES256",
      "ES384",
      "ES512",
      null,
      null
    ])
  })
})

describe("EC keys as SEC1 points", () => {
  it.each([
    ["prime256v1", 65],
    ["secp384r1", 97],
    ["secp521r1", 133]
  ])("a %s public key survives the trip through its %d-byte uncompressed point", (curve, length) => {
    const { publicKey } = keyPair(curve)
    const point = Cose.pointOfKey(publicKey)
    expect(point.length).toBe(length)
    const restored = Either.getOrThrow(Cose.publicKeyFromPoint(point))
    expect(restored.export({ format: "jwk" })).toEqual(publicKey.export({ format: "jwk" }))
  })

  it("a point that is not on the curve is rejected", () => {
    const point = Cose.pointOfKey(keyPair("secp384r1").publicKey)
    point[96] = (point[96] ?? 0) ^ 0x01
    const result = Cose.publicKeyFromPoint(point)
    expect(Either.isLeft(result) && result.left._tag).toBe("InvalidEcPoint")
  })

  it("a compressed point is rejected", () => {
    const point = Cose.pointOfKey(keyPair("secp384r1").publicKey)
    point[0] = 0x02
    const result = Cose.publicKeyFromPoint(point)
    expect(Either.isLeft(result) && result.left.reason).toContain("uncompressed")
  })

  it("a point of no known curve length is rejected", () => {
    const result = Cose.publicKeyFromPoint(new Uint8Array(64))
    expect(Either.isLeft(result) && result.left.reason).toContain("64 bytes")
  })
})
