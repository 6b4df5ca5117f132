import { Either } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"
import * as ReferenceValues from "../../../src/domain/cca/ReferenceValues.js"
import * as Islet from "./IsletVectors.js"
import { hex } from "./TokenSurgery.js"

const zero = "00".repeat(32)
const one = "11".repeat(32)

const document = (referenceValues: unknown) =>
  new TextEncoder().encode(
    JSON.stringify({
      version: "0.1",
      issuer: { name: "Test", url: "https://example.invalid/" },
      realm: {
        uuid: "f7e3e8ef-e0cc-4098-98f8-3a12436da040",
        name: "Test realm",
        version: "1.0.0",
        "release-timestamp": "2024-09-09T05:21:31Z",
        "attestation-protocol": "HTTPS/RA-TLSv1.0",
        port: 8088,
        "reference-values": referenceValues
      }
    })
  )

const rejection = (json: Uint8Array) => {
  const result = ReferenceValues.decode(json)
  if (Either.isRight(result)) throw new Error("the document was accepted")
  return result.left
}

const referenceValuesOf = (json: Uint8Array) => Either.getOrThrow(ReferenceValues.decode(json)).realm.referenceValues

const realmClaimsOf = (name: "client-token.bin" | "server-token.bin") =>
  Either.getOrThrow(CcaToken.decode(Islet.read(name))).realm.claims

describe.skipIf(Islet.missing)(`reference values of the Islet files ${Islet.requirement}`, () => {
  it("example.json decodes into its RIM, two REM sets and sha-256", () => {
    const decoded = Either.getOrThrow(ReferenceValues.decode(Islet.read("example.json")))
    expect(decoded.realm.port).toBe(8088)
    expect(decoded.realm.releaseTimestamp).toBe("2024-09-09T05:21:31Z")
    expect(hex(decoded.realm.referenceValues.rim)).toBe("fdd82b3e2ef1da0091a3a9ce22549c4258265968d9c6487ea9886664b94a9b61")
    expect(decoded.realm.referenceValues.rems.length).toBe(2)
    expect(decoded.realm.referenceValues.hashAlgorithm).toBe("sha-256")
  })

  it("example.json accepts the measurements of the client token", () => {
    const result = ReferenceValues.check(referenceValuesOf(Islet.read("example.json")), realmClaimsOf("client-token.bin"))
    expect(Either.isRight(result)).toBe(true)
  })

  it("bad_example.json rejects the client token's RIM", () => {
    const result = ReferenceValues.check(referenceValuesOf(Islet.read("bad_example.json")), realmClaimsOf("client-token.bin"))
    expect(Either.isLeft(result) && result.left.field).toBe("rim")
  })

  it.each(["example.json", "bad_example.json"] as const)("the server token's RIM is not in %s", (file) => {
    const result = ReferenceValues.check(referenceValuesOf(Islet.read(file)), realmClaimsOf("server-token.bin"))
    expect(Either.isLeft(result) && result.left.field).toBe("rim")
  })

  it("the client token's RIM with REMs of no listed set is rejected on rems", () => {
    const claims = realmClaimsOf("client-token.bin")
    const reference = { rim: hex(claims.rim), rems: [[one, zero, zero, zero]], "hash-algo": "sha-256" }
    const result = ReferenceValues.check(referenceValuesOf(document(reference)), claims)
    expect(Either.isLeft(result) && result.left.field).toBe("rems")
  })

  it("REMs listed in another set than the first are accepted", () => {
    const claims = realmClaimsOf("client-token.bin")
    const reference = { rim: hex(claims.rim), rems: [[one, one, one, one], claims.rems.map(hex)], "hash-algo": "sha-256" }
    expect(Either.isRight(ReferenceValues.check(referenceValuesOf(document(reference)), claims))).toBe(true)
  })

  it("matching measurements under another hash algorithm name are rejected on hash-algo", () => {
    const claims = realmClaimsOf("client-token.bin")
    const result = ReferenceValues.check({ rim: claims.rim, rems: [claims.rems], hashAlgorithm: "sha-512" }, claims)
    expect(Either.isLeft(result) && result.left.field).toBe("hash-algo")
  })
})

describe("reference values documents", () => {
  it("a document with the reference server's fields decodes into typed measurements", () => {
    const values = referenceValuesOf(document({ rim: one, rems: [[zero, one, zero, one]], "hash-algo": "sha-256" }))
    expect(hex(values.rim)).toBe(one)
    expect(values.rems.map((set) => set.map(hex))).toEqual([[zero, one, zero, one]])
  })

  it("a document without hash-algo is rejected naming the field", () => {
    const error = rejection(document({ rim: one, rems: [] }))
    expect(error.reason).toMatch(/^realm\.reference-values\.hash-algo: /)
  })

  it("a RIM that is not hex is rejected naming the field", () => {
    const error = rejection(document({ rim: "xyz", rems: [], "hash-algo": "sha-256" }))
    expect(error.reason).toMatch(/^realm\.reference-values\.rim: /)
  })

  it("a REM set of three values is rejected", () => {
    const error = rejection(document({ rim: one, rems: [[zero, zero, zero]], "hash-algo": "sha-256" }))
    expect(error.reason).toMatch(/^realm\.reference-values\.rems\.0/)
  })

  it("a RIM shorter than its hash algorithm is rejected", () => {
    const error = rejection(document({ rim: "11", rems: [], "hash-algo": "sha-256" }))
    expect(error.reason).toContain("rim has 1 bytes, sha-256 needs 32")
  })

  it("a REM longer than its hash algorithm is rejected naming the REM", () => {
    const error = rejection(document({ rim: one, rems: [[zero, zero, zero, one + "00"]], "hash-algo": "sha-256" }))
    expect(error.reason).toContain("rems[0][3] has 33 bytes")
  })

  it("a hash algorithm outside sha-256/384/512 is rejected", () => {
    const error = rejection(document({ rim: one, rems: [], "hash-algo": "md5" }))
    expect(error.reason).toMatch(/^realm\.reference-values\.hash-algo: /)
  })

  it("a document without the issuer is rejected, as by the reference server", () => {
    const json = JSON.parse(new TextDecoder().decode(document({ rim: one, rems: [], "hash-algo": "sha-256" })))
    delete json.issuer
    expect(rejection(new TextEncoder().encode(JSON.stringify(json))).reason).toMatch(/^issuer: /)
  })

  it("text that is not JSON is rejected", () => {
    expect(rejection(new TextEncoder().encode("{ rim"))._tag).toBe("InvalidReferenceValues")
  })

  it("arbitrary bytes and JSON values are rejected only with InvalidReferenceValues", () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.jsonValue().map((value) => new TextEncoder().encode(JSON.stringify(value))),
      fc.jsonValue().map((value) => document(value))
    )
    fc.assert(
      fc.property(input, (bytes) => {
        const result = ReferenceValues.decode(bytes)
        return Either.isLeft(result) && result.left._tag === "InvalidReferenceValues"
      }),
      { numRuns: 300 }
    )
  })
})
