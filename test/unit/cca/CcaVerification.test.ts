import { createHash, generateKeyPairSync } from "node:crypto"
import { Either } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"
import * as CcaVerification from "../../../src/domain/cca/CcaVerification.js"
import * as ReferenceValues from "../../../src/domain/cca/ReferenceValues.js"
import * as SoftwareAttester from "../../../src/domain/cca/SoftwareAttester.js"
import * as Islet from "./IsletVectors.js"
import { editClaims, editSign1, flip } from "./TokenSurgery.js"

const parsed = (bytes: Uint8Array) => Either.getOrThrow(CcaToken.decode(bytes))

const failure = <E>(result: Either.Either<void, E>): E => {
  if (Either.isRight(result)) throw new Error("the check passed")
  return result.left
}

const realmPayloadFlipped = (bytes: Uint8Array) =>
  editSign1(bytes, "realm", ([protectedHeader, unprotected, payload, signature]) =>
    [protectedHeader, unprotected, flip(payload, -1), signature]
  )

const realmSignatureFlipped = (bytes: Uint8Array) =>
  editSign1(bytes, "realm", ([protectedHeader, unprotected, payload, signature]) =>
    [protectedHeader, unprotected, payload, flip(signature, 20)]
  )

const withRealmHeader = (bytes: Uint8Array, header: Uint8Array) =>
  editSign1(bytes, "realm", ([, unprotected, payload, signature]) => [header, unprotected, payload, signature])

const challenge = new Uint8Array(64).fill(0x5a)

describe.skipIf(Islet.missing)(`CCA verification of the Islet tokens ${Islet.requirement}`, () => {
  const tokens = ["client-token.bin", "server-token.bin"] as const

  it.each(tokens)("the realm signature of %s verifies with the RAK it carries", (name) => {
    expect(Either.isRight(CcaVerification.verifyRealmSignature(parsed(Islet.read(name))))).toBe(true)
  })

  it.each(tokens)("the RAK of %s is bound to its platform token", (name) => {
    expect(Either.isRight(CcaVerification.verifyRakBinding(parsed(Islet.read(name))))).toBe(true)
  })

  it.each(tokens)("a flipped byte in the realm payload of %s fails the realm signature check", (name) => {
    const token = parsed(realmPayloadFlipped(Islet.read(name)))
    expect(failure(CcaVerification.verifyRealmSignature(token))._tag).toBe("RealmSignatureInvalid")
  })

  it.each(tokens)("a flipped byte in the realm signature of %s fails the realm signature check", (name) => {
    const token = parsed(realmSignatureFlipped(Islet.read(name)))
    expect(failure(CcaVerification.verifyRealmSignature(token))._tag).toBe("RealmSignatureInvalid")
  })

  it("a realm protected header changed to name ES512 fails the realm signature check", () => {
    const token = parsed(withRealmHeader(Islet.read("client-token.bin"), Uint8Array.of(0xa1, 0x01, 0x38, 0x23)))
    expect(failure(CcaVerification.verifyRealmSignature(token)).message).toContain("ES512 signature does not verify")
  })

  it("a realm protected header with an extra parameter fails the realm signature check", () => {
    const header = Uint8Array.of(0xa2, 0x01, 0x38, 0x22, 0x04, 0x40)
    const token = parsed(withRealmHeader(Islet.read("client-token.bin"), header))
    expect(failure(CcaVerification.verifyRealmSignature(token))._tag).toBe("RealmSignatureInvalid")
  })

  it("a realm protected header naming an algorithm other than ECDSA fails as unsupported", () => {
    const token = parsed(withRealmHeader(Islet.read("client-token.bin"), Uint8Array.of(0xa1, 0x01, 0x38, 0x24)))
    const error = failure(CcaVerification.verifyRealmSignature(token))
    expect(error).toMatchObject({ _tag: "UnsupportedAlgorithm", check: "realm-signature", algorithm: "COSE alg -37" })
  })

  it("a flipped byte in the platform challenge fails the RAK binding check", () => {
    const bytes = editClaims(Islet.read("client-token.bin"), "platform", (claims) =>
      claims.set(10, flip(claims.get(10) as Uint8Array, 0))
    )
    expect(failure(CcaVerification.verifyRakBinding(parsed(bytes)))._tag).toBe("RakBindingMismatch")
  })

  it("a RAK hash algorithm outside sha-256/384/512 fails the RAK binding check as unsupported", () => {
    const bytes = editClaims(Islet.read("client-token.bin"), "realm", (claims) => claims.set(44240, "md5"))
    const error = failure(CcaVerification.verifyRakBinding(parsed(bytes)))
    expect(error).toMatchObject({ _tag: "UnsupportedAlgorithm", check: "rak-binding", algorithm: "md5" })
  })

  it("the client token fails a realm challenge check against a fresh challenge", () => {
    const token = parsed(Islet.read("client-token.bin"))
    expect(failure(CcaVerification.verifyRealmChallenge(token, challenge))._tag).toBe("RealmChallengeMismatch")
  })

  it("the client token passes a realm challenge check against its own challenge", () => {
    const token = parsed(Islet.read("client-token.bin"))
    expect(Either.isRight(CcaVerification.verifyRealmChallenge(token, token.realm.claims.challenge))).toBe(true)
  })

  it("the client token passes a policy of example.json's reference values without platform key or challenge", () => {
    const document = Either.getOrThrow(ReferenceValues.decode(Islet.read("example.json")))
    const policy = { referenceValues: document.realm.referenceValues }
    expect(Either.isRight(CcaVerification.verify(parsed(Islet.read("client-token.bin")), policy))).toBe(true)
  })

  it("the client token fails a policy of bad_example.json's reference values on the RIM", () => {
    const document = Either.getOrThrow(ReferenceValues.decode(Islet.read("bad_example.json")))
    const policy = { referenceValues: document.realm.referenceValues }
    const error = failure(CcaVerification.verify(parsed(Islet.read("client-token.bin")), policy))
    expect(error).toMatchObject({ _tag: "MeasurementsRejected", field: "rim" })
  })

  it("the Islet tokens fail the platform signature check under a key that did not sign them", () => {
    const cpak = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey
    const token = parsed(Islet.read("client-token.bin"))
    expect(failure(CcaVerification.verifyPlatformSignature(token, cpak))._tag).toBe("PlatformSignatureInvalid")
  })

  it("verifying mutated real tokens yields results or typed errors, never exceptions", () => {
    const original = Islet.read("client-token.bin")
    const cpak = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey
    fc.assert(
      fc.property(fc.nat({ max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const bytes = Uint8Array.from(original)
        bytes[at] = (bytes[at] ?? 0) ^ mask
        const token = CcaToken.decode(bytes)
        if (Either.isLeft(token)) return true
        const result = CcaVerification.verify(token.right, { platformKey: cpak, realmChallenge: challenge })
        return Either.isLeft(result) && typeof result.left._tag === "string"
      }),
      { numRuns: 200 }
    )
  })
})

describe("CCA verification of software attester tokens", () => {
  const attester = SoftwareAttester.make()
  const bytes = Either.getOrThrow(attester.attest(challenge))
  const strictPolicy: CcaVerification.Policy = {
    platformKey: attester.platformPublicKey,
    realmChallenge: challenge,
    referenceValues: attester.referenceValues
  }

  it("a fresh token passes every check of the strict policy", () => {
    expect(Either.isRight(CcaVerification.verify(parsed(bytes), strictPolicy))).toBe(true)
  })

  it("a flipped byte in the platform payload fails the platform signature check", () => {
    const broken = editSign1(bytes, "platform", ([protectedHeader, unprotected, payload, signature]) =>
      [protectedHeader, unprotected, flip(payload, -1), signature]
    )
    expect(failure(CcaVerification.verify(parsed(broken), strictPolicy))._tag).toBe("PlatformSignatureInvalid")
  })

  it("a flipped byte in the platform signature fails the platform signature check", () => {
    const broken = editSign1(bytes, "platform", ([protectedHeader, unprotected, payload, signature]) =>
      [protectedHeader, unprotected, payload, flip(signature, 50)]
    )
    expect(failure(CcaVerification.verify(parsed(broken), strictPolicy))._tag).toBe("PlatformSignatureInvalid")
  })

  it("a flipped byte in the realm payload fails the realm signature check first", () => {
    expect(failure(CcaVerification.verify(parsed(realmPayloadFlipped(bytes)), strictPolicy))._tag).toBe(
      "RealmSignatureInvalid"
    )
  })

  it("a token from another platform fails the platform signature check", () => {
    const other = Either.getOrThrow(SoftwareAttester.make().attest(challenge))
    expect(failure(CcaVerification.verify(parsed(other), strictPolicy))._tag).toBe("PlatformSignatureInvalid")
  })

  it("a token answering another challenge fails the realm challenge check", () => {
    const stale = Either.getOrThrow(attester.attest(new Uint8Array(64)))
    expect(failure(CcaVerification.verify(parsed(stale), strictPolicy))).toMatchObject({
      _tag: "RealmChallengeMismatch",
      expected: challenge
    })
  })

  it("a realm key whose point is not on the curve fails the realm signature check", () => {
    const broken = editClaims(bytes, "realm", (claims) => claims.set(44237, flip(claims.get(44237) as Uint8Array, -1)))
    expect(failure(CcaVerification.verifyRealmSignature(parsed(broken))).message).toContain("the RAK is not a usable EC public key")
  })

  it("the realm challenge of RA-TLS is SHA-512 of the server challenge followed by the client SPKI", () => {
    const spki = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00)
    const expected = createHash("sha512").update(Buffer.concat([challenge, spki])).digest("hex")
    expect(Buffer.from(CcaVerification.realmChallengeFor(challenge, spki)).toString("hex")).toBe(expected)
  })
})
