import { generateKeyPairSync } from "node:crypto"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import * as Cbor from "../../../src/domain/cca/Cbor.js"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"
import * as CcaVerification from "../../../src/domain/cca/CcaVerification.js"
import * as Cose from "../../../src/domain/cca/Cose.js"
import * as HashAlgorithm from "../../../src/domain/cca/HashAlgorithm.js"
import * as SoftwareAttester from "../../../src/domain/cca/SoftwareAttester.js"
import * as Islet from "./IsletVectors.js"
import { hex } from "./TokenSurgery.js"

const challenge = Uint8Array.from({ length: 64 }, (_, index) => index)

const tokenFrom = (attester: SoftwareAttester.SoftwareAttester, realmChallenge = challenge) =>
  Either.getOrThrow(CcaToken.decode(Either.getOrThrow(attester.attest(realmChallenge))))

const measurements = {
  rim: new Uint8Array(32).fill(0xa1),
  rems: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), new Uint8Array(32), new Uint8Array(32)] as const,
  personalizationValue: new Uint8Array(64).fill(0x70),
  measurementHashAlgorithm: "sha-256" as const
}

const strictPolicy = (attester: SoftwareAttester.SoftwareAttester, referenceFrom = attester) => ({
  platformKey: attester.platformPublicKey,
  realmChallenge: challenge,
  referenceValues: referenceFrom.referenceValues
})

describe("software attester (not hardware-backed)", () => {
  it("its token carries the requested challenge as the realm challenge", () => {
    expect(hex(tokenFrom(SoftwareAttester.make()).realm.claims.challenge)).toBe(hex(challenge))
  })

  it("its token passes the strict verifier with its platform key and its own reference values", () => {
    const attester = SoftwareAttester.make({ realm: measurements })
    expect(Either.isRight(CcaVerification.verify(tokenFrom(attester), strictPolicy(attester)))).toBe(true)
  })

  it("its token reports the configured measurements and personalization value", () => {
    const { claims } = tokenFrom(SoftwareAttester.make({ realm: measurements })).realm
    expect(hex(claims.rim)).toBe(hex(measurements.rim))
    expect(claims.rems.map(hex)).toEqual(measurements.rems.map(hex))
    expect(hex(claims.personalizationValue)).toBe(hex(measurements.personalizationValue))
    expect(claims.measurementHashAlgorithm).toBe("sha-256")
  })

  it("its RAK is the realm key's point and the platform challenge is the SHA-256 of it", () => {
    const realmKey = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey
    const token = tokenFrom(SoftwareAttester.make({ realmKey }))
    expect(hex(token.realm.claims.rak)).toBe(hex(Cose.pointOfKey(realmKey)))
    expect(token.realm.claims.rakHashAlgorithm).toBe("sha-256")
    expect(hex(token.platform.claims.challenge)).toBe(hex(HashAlgorithm.digest("sha-256", token.realm.claims.rak)))
  })

  it("its tokens are verified with a given platform key", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" })
    const token = tokenFrom(SoftwareAttester.make({ platformKey: privateKey }))
    expect(Either.isRight(CcaVerification.verifyPlatformSignature(token, publicKey))).toBe(true)
  })

  it("its token has the outer layout of a real one: tag 399, then two ES384 COSE_Sign1 with empty unprotected headers", () => {
    const bytes = Either.getOrThrow(SoftwareAttester.make().attest(challenge))
    expect(hex(bytes.subarray(0, 7))).toBe("d9018fa219acca")
    const entries = (Either.getOrThrow(Cbor.decode(bytes)) as Cbor.Tag).value as Map<number, Uint8Array>
    expect([...entries.keys()]).toEqual([44234, 44241])
    for (const inner of entries.values()) {
      expect(hex(inner.subarray(0, 8))).toBe("d28444a1013822a0")
      expect(Either.getOrThrow(Cose.decodeSign1(inner)).signature.length).toBe(96)
    }
  })

  it("its platform claims take the configured software components", () => {
    const component = { type: "RMM", measurement: new Uint8Array(48).fill(9), version: "1.0", signerId: new Uint8Array(32) }
    const token = tokenFrom(SoftwareAttester.make({ platform: { softwareComponents: [component] } }))
    expect(token.platform.claims.softwareComponents).toEqual([component])
  })

  it("a token with another RIM is rejected by the first attester's reference values on rim", () => {
    const reference = SoftwareAttester.make({ realm: measurements })
    const other = SoftwareAttester.make({ realm: { ...measurements, rim: new Uint8Array(32).fill(0xa2) } })
    const result = CcaVerification.verify(tokenFrom(other), strictPolicy(other, reference))
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "MeasurementsRejected", field: "rim" })
  })

  it("a token with other REMs is rejected by the first attester's reference values on rems", () => {
    const reference = SoftwareAttester.make({ realm: measurements })
    const rems = [new Uint8Array(32), new Uint8Array(32), new Uint8Array(32), new Uint8Array(32).fill(4)] as const
    const other = SoftwareAttester.make({ realm: { ...measurements, rems } })
    const result = CcaVerification.verify(tokenFrom(other), strictPolicy(other, reference))
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "MeasurementsRejected", field: "rems" })
  })

  it("a challenge of other than 64 bytes is refused", () => {
    const result = SoftwareAttester.make().attest(new Uint8Array(32))
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "InvalidAttestationChallenge", length: 32 })
  })

  it("two challenges give two realm tokens under one platform token", () => {
    const attester = SoftwareAttester.make()
    const first = tokenFrom(attester)
    const second = tokenFrom(attester, new Uint8Array(64).fill(1))
    expect(hex(second.platform.payload)).toBe(hex(first.platform.payload))
    expect(hex(second.realm.claims.challenge)).not.toBe(hex(first.realm.claims.challenge))
  })
})

describe.skipIf(Islet.missing)(`software attester tokens against the Islet client token ${Islet.requirement}`, () => {
  // The CBOR shape of each claim (and of each software component entry), keyed by claim number, in order.
  const shapeOf = (payload: Uint8Array) => {
    const claims = Either.getOrThrow(Cbor.decode(payload)) as Map<number, unknown>
    return [...claims].map(([key, value]) => [
      key,
      Array.isArray(value)
        ? value.map((item) => (item instanceof Map ? [...item].map(([k, v]) => [k, Cbor.describe(v)]) : Cbor.describe(item)))
        : Cbor.describe(value)
    ])
  }

  it("its claims use the same keys, order and CBOR types as the Islet client token", () => {
    const islet = Either.getOrThrow(CcaToken.decode(Islet.read("client-token.bin")))
    const software = tokenFrom(SoftwareAttester.make())
    expect(shapeOf(software.realm.payload)).toEqual(shapeOf(islet.realm.payload))
    const [isletComponent] = shapeOf(islet.platform.payload).find(([key]) => key === 2399)?.[1] as Array<unknown>
    const softwareShape = shapeOf(software.platform.payload)
    expect(softwareShape.map(([key]) => key)).toEqual(shapeOf(islet.platform.payload).map(([key]) => key))
    expect((softwareShape.find(([key]) => key === 2399)?.[1] as Array<unknown>)[0]).toEqual(isletComponent)
  })

  it("its realm token has the byte length of the Islet realm token", () => {
    const islet = Either.getOrThrow(CcaToken.decode(Islet.read("client-token.bin")))
    const software = tokenFrom(SoftwareAttester.make())
    expect(software.realm.payload.length).toBe(islet.realm.payload.length)
  })
})
