import { Either } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Cbor from "../../../src/domain/cca/Cbor.js"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"
import * as SoftwareAttester from "../../../src/domain/cca/SoftwareAttester.js"
import * as Islet from "./IsletVectors.js"
import { editClaims, editSign1, flip, hex } from "./TokenSurgery.js"

const parsed = (bytes: Uint8Array) => Either.getOrThrow(CcaToken.decode(bytes))

const rejection = (bytes: Uint8Array) => {
  const result = CcaToken.decode(bytes)
  if (Either.isRight(result)) throw new Error("the token was accepted")
  return result.left
}

const attester = SoftwareAttester.make()
const token = Either.getOrThrow(attester.attest(new Uint8Array(64).fill(7)))

describe.skipIf(Islet.missing)(`CCA token parsing of the Islet tokens ${Islet.requirement}`, () => {
  it("the client token parses into its realm measurements and RAK", () => {
    const { realm } = parsed(Islet.read("client-token.bin"))
    expect(hex(realm.claims.rim)).toBe("fdd82b3e2ef1da0091a3a9ce22549c4258265968d9c6487ea9886664b94a9b61")
    expect(realm.claims.rems.map(hex)).toEqual(Array(4).fill("00".repeat(32)))
    expect(realm.claims.rak.length).toBe(97)
    expect(realm.claims.challenge.length).toBe(64)
    expect(realm.claims.measurementHashAlgorithm).toBe("sha-256")
    expect(realm.claims.rakHashAlgorithm).toBe("sha-256")
    expect(realm.algorithmId).toBe(-35)
  })

  it("the client token parses into its platform claims", () => {
    const { platform } = parsed(Islet.read("client-token.bin"))
    expect(platform.claims.profile).toBe("http://arm.com/CCA-SSD/1.0.0")
    expect(platform.claims.securityLifecycle).toBe(12288)
    expect(platform.claims.softwareComponents.map((component) => component.type)).toEqual(["BL1", "BL2"])
    expect(platform.claims.softwareComponents[1]?.hashAlgorithm).toBe("sha-512")
    expect(hex(platform.claims.configuration)).toBe("efbeadde")
    expect(platform.algorithmId).toBe(-35)
  })

  it("the server token parses, with software components that name no hash algorithm", () => {
    const { platform } = parsed(Islet.read("server-token.bin"))
    expect(platform.claims.softwareComponents.map((component) => component.hashAlgorithm)).toEqual([
      "TF-M_SHA256MemPreXIP",
      undefined,
      undefined,
      undefined
    ])
    expect(platform.claims.verificationService).toBe("whatever.com")
  })

  it("the parsed token keeps the raw bytes it came from", () => {
    const bytes = Islet.read("server-token.bin")
    expect(hex(parsed(bytes).raw)).toBe(hex(bytes))
  })

  it("re-encoding the client token's claims reproduces both signed payloads byte for byte", () => {
    const { platform, realm } = parsed(Islet.read("client-token.bin"))
    expect(hex(CcaToken.encodeRealmClaims(realm.claims))).toBe(hex(realm.payload))
    expect(hex(CcaToken.encodePlatformClaims(platform.claims))).toBe(hex(platform.payload))
  })

  it("no byte flip, truncation or splice of a real token escapes as anything but InvalidCcaToken", () => {
    const tokens = [Islet.read("client-token.bin"), Islet.read("server-token.bin")]
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) })
    )
    fc.assert(
      fc.property(fc.constantFrom(...tokens), fc.array(mutation, { minLength: 1, maxLength: 4 }), (original, mutations) => {
        let bytes = original
        for (const m of mutations) {
          const at = m.at % bytes.length
          if (m.kind === "flip") {
            bytes = Uint8Array.from(bytes)
            bytes[at] = (bytes[at] ?? 0) ^ m.mask
          } else if (m.kind === "truncate") {
            bytes = bytes.subarray(0, at)
          } else {
            bytes = Uint8Array.from([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)])
          }
          if (bytes.length === 0) break
        }
        const result = CcaToken.decode(bytes)
        return Either.isRight(result) || result.left._tag === "InvalidCcaToken"
      }),
      { numRuns: 300 }
    )
  })
})

describe("CCA token parsing", () => {
  it("arbitrary bytes are rejected only with InvalidCcaToken", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const result = CcaToken.decode(bytes)
        return Either.isLeft(result) && result.left._tag === "InvalidCcaToken"
      }),
      { numRuns: 500 }
    )
  })

  it("arbitrary CBOR values inside tag 399 are rejected only with InvalidCcaToken", () => {
    const value = fc.letrec<{ item: unknown }>((tie) => ({
      item: fc.oneof(
        { depthSize: "small" },
        fc.integer(),
        fc.string(),
        fc.uint8Array({ maxLength: 16 }),
        fc.array(tie("item"), { maxLength: 4 }),
        fc.array(fc.tuple(fc.oneof(fc.integer(), fc.constantFrom(10, 44234, 44241)), tie("item")), { maxLength: 4 })
          .map((entries) => new Map(entries))
      )
    })).item
    fc.assert(
      fc.property(value, (content) => {
        const result = CcaToken.decode(Cbor.encode(new Cbor.Tag(content, CcaToken.CollectionTag)))
        return Either.isLeft(result) && result.left._tag === "InvalidCcaToken"
      }),
      { numRuns: 300 }
    )
  })

  it("bytes that are not CBOR are rejected as such", () => {
    expect(rejection(Uint8Array.of(0xff, 0x00)).reason).toMatch(/^not CBOR/)
  })

  it("a token whose outer tag is not 399 is rejected naming the tag found", () => {
    const retagged = Cbor.encode(new Cbor.Tag((Either.getOrThrow(Cbor.decode(token)) as Cbor.Tag).value, 400))
    expect(rejection(retagged).reason).toBe("not a tag 399: found tag 400")
  })

  it("a token without the platform entry is rejected naming key 44234", () => {
    const realmOnly = Cbor.encode(new Cbor.Tag(new Map([[CcaToken.RealmTokenKey, new Uint8Array(1)]]), 399))
    expect(rejection(realmOnly).reason).toBe("missing 44234 (platform token)")
  })

  it("a token map with a third entry is rejected naming the extra key", () => {
    const outer = Either.getOrThrow(Cbor.decode(token)) as Cbor.Tag
    const extended = new Map(outer.value as Map<number, Uint8Array>).set(7, new Uint8Array(1))
    expect(rejection(Cbor.encode(new Cbor.Tag(extended, 399))).reason).toBe("unexpected key 7 in the token map")
  })

  it("a platform token that is not a COSE_Sign1 array is rejected as a bad COSE structure", () => {
    const broken = editSign1(token, "platform", ([protectedHeader, unprotected, payload]) =>
      [protectedHeader, unprotected, payload] as never
    )
    expect(rejection(broken).reason).toMatch(/^platform token: bad COSE_Sign1 structure/)
  })

  it("a realm claim of the wrong type is rejected naming the claim", () => {
    const broken = editClaims(token, "realm", (claims) => claims.set(44237, "not bytes"))
    expect(rejection(broken).reason).toBe(
      "realm token claims: claim 44237 (rak): Expected byte string, actual \"not bytes\""
    )
  })

  it("a realm challenge that is not 64 bytes is rejected", () => {
    const broken = editClaims(token, "realm", (claims) => claims.set(10, new Uint8Array(32)))
    expect(rejection(broken).reason).toBe("realm token claims: claim 10 (challenge): expected 64 bytes, got 32")
  })

  it("a realm token with three REMs is rejected naming claim 44239", () => {
    const broken = editClaims(token, "realm", (claims) => claims.set(44239, [new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)]))
    expect(rejection(broken).reason).toMatch(/^realm token claims: claim 44239 \(rems\)/)
  })

  it("a software component without a measurement is rejected naming where", () => {
    const broken = editClaims(token, "platform", (claims) => {
      const [component] = claims.get(2399) as Array<Map<number, unknown>>
      component?.delete(2)
    })
    expect(rejection(broken).reason).toBe("platform token claims: claim 2399 (softwareComponents) at 0/2: is missing")
  })

  it("a platform token without a verification service still parses", () => {
    const trimmed = editClaims(token, "platform", (claims) => claims.delete(2400))
    expect(parsed(trimmed).platform.claims.verificationService).toBeUndefined()
  })

  it("claims the parser does not know are ignored", () => {
    const extended = editClaims(token, "realm", (claims) => claims.set(265, "tag:arm.com,2023:realm#1.0.0"))
    expect(hex(parsed(extended).realm.claims.rim)).toBe(hex(attester.referenceValues.rim))
  })

  it("parsing does not judge signatures: a token with a corrupted signature still parses", () => {
    const flipped = editSign1(token, "realm", ([protectedHeader, unprotected, payload, signature]) =>
      [protectedHeader, unprotected, payload, flip(signature, 0)]
    )
    expect(Either.isRight(CcaToken.decode(flipped))).toBe(true)
  })
})
