import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import * as crypto from "node:crypto"
import fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import * as Der from "../../../src/services/RaTlsCredentials/Der.js"
import * as RaTlsCertificate from "../../../src/services/RaTlsCredentials/RaTlsCertificate.js"

x509.cryptoProvider.set(crypto.webcrypto as Parameters<typeof x509.X509CertificateGenerator.create>[1] & object)

const hex = (bytes: Uint8Array | ArrayBuffer) => Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes).toString("hex")

let privateKey: crypto.KeyObject
let spkiDer: Uint8Array
const token = new Uint8Array(crypto.randomBytes(1234))

beforeAll(() => {
  const pair = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  privateKey = pair.privateKey
  spkiDer = new Uint8Array(pair.publicKey.export({ type: "spki", format: "der" }))
})

const certificate = (input: Partial<RaTlsCertificate.CertificateInput> = {}) =>
  RaTlsCertificate.make({ privateKey, publicKeySpkiDer: spkiDer, token, ...input })

describe("the RA-TLS client certificate, read by Node's X509Certificate", () => {
  it("has an empty subject and issuer (Node reports an empty Name as undefined)", () => {
    const parsed = new crypto.X509Certificate(certificate())
    expect(parsed.subject).toBeUndefined()
    expect(parsed.issuer).toBeUndefined()
  })

  it("is valid from 2021-05-19 to 4096-01-01", () => {
    const parsed = new crypto.X509Certificate(certificate())
    expect(new Date(parsed.validFrom).toISOString()).toBe("2021-05-19T00:00:00.000Z")
    expect(new Date(parsed.validTo).toISOString()).toBe("4096-01-01T00:00:00.000Z")
  })

  it("carries the client's public key and verifies with it", () => {
    const parsed = new crypto.X509Certificate(certificate())
    expect(hex(parsed.publicKey.export({ type: "spki", format: "der" }))).toBe(hex(spkiDer))
    expect(parsed.verify(crypto.createPublicKey(privateKey))).toBe(true)
  })

  it("does not verify with another key", () => {
    const other = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey
    expect(new crypto.X509Certificate(certificate()).verify(other)).toBe(false)
  })

  it("has the given serial, and a random positive 16-octet serial by default", () => {
    expect(new crypto.X509Certificate(certificate({ serial: Uint8Array.of(0x01, 0x02) })).serialNumber).toBe("0102")
    const serials = [certificate(), certificate()].map((der) => new crypto.X509Certificate(der).serialNumber)
    for (const serial of serials) expect(serial).toMatch(/^[4-7][0-9A-F]{31}$/)
    expect(serials[0]).not.toBe(serials[1])
  })
})

describe("the RA-TLS client certificate, read by @peculiar/x509", () => {
  it("is version 3, signed sha256WithRSAEncryption, with empty names", () => {
    const parsed = new x509.X509Certificate(certificate())
    expect(parsed.subject).toBe("")
    expect(parsed.issuer).toBe("")
    expect(parsed.signatureAlgorithm).toMatchObject({ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-256" } })
    // Certificate and TBSCertificate both have two-octet lengths here, so the version field starts at 8.
    expect(hex(certificate().subarray(8, 13))).toBe("a003020102")
  })

  it("has exactly one extension, 1.3.3.3.7, non-critical, whose value is the raw token", () => {
    const parsed = new x509.X509Certificate(certificate())
    expect(parsed.extensions.map((extension) => [extension.type, extension.critical])).toEqual([["1.3.3.3.7", false]])
    expect(hex(parsed.extensions[0]!.value)).toBe(hex(token))
  })

  it("keeps a token of 70000 bytes intact (three-octet DER lengths)", () => {
    const large = new Uint8Array(crypto.randomBytes(70000))
    const parsed = new x509.X509Certificate(certificate({ token: large }))
    expect(hex(parsed.extensions[0]!.value)).toBe(hex(large))
  })

  it("verifies with its own public key", async () => {
    const parsed = new x509.X509Certificate(certificate())
    expect(await parsed.verify({ signatureOnly: true })).toBe(true)
    expect(parsed.notBefore.toISOString()).toBe("2021-05-19T00:00:00.000Z")
    expect(parsed.notAfter.toISOString()).toBe("4096-01-01T00:00:00.000Z")
  })
})

describe("DER encodings of the certificate fields", () => {
  it("validity times are UTCTime up to 2049 and GeneralizedTime from 2050", () => {
    expect(hex(Der.validityTime(new Date(Date.UTC(2049, 11, 31, 23, 59, 59))))).toBe(hex(Buffer.concat([Buffer.of(0x17, 13), Buffer.from("491231235959Z")])))
    expect(hex(Der.validityTime(new Date(Date.UTC(2050, 0, 1))))).toBe(hex(Buffer.concat([Buffer.of(0x18, 15), Buffer.from("20500101000000Z")])))
    expect(hex(Der.validityTime(RaTlsCertificate.notAfter))).toBe(hex(Buffer.concat([Buffer.of(0x18, 15), Buffer.from("40960101000000Z")])))
  })

  it("object identifiers encode in base 128 with the first two arcs combined", () => {
    expect(hex(Der.objectIdentifier("1.2.840.113549.1.1.11"))).toBe("06092a864886f70d01010b")
    expect(hex(Der.objectIdentifier("1.3.3.3.7"))).toBe("06042b030307")
  })

  it("lengths of 128 bytes and more use the long form", () => {
    expect(hex(Der.octetString(new Uint8Array(300)).subarray(0, 4))).toBe("0482012c")
    expect(hex(Der.octetString(new Uint8Array(127)).subarray(0, 2))).toBe("047f")
  })

  it("an unsigned integer is minimal two's complement of its magnitude", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 24 }), (magnitude) => {
        const encoded = Der.unsignedInteger(magnitude)
        const content = encoded.subarray(2)
        const value = BigInt(`0x${hex(magnitude) || "0"}`)
        const minimal = content.length === 1 || !(content[0] === 0 && content[1]! < 0x80)
        return encoded[0] === 2 && encoded[1] === content.length && (content[0]! & 0x80) === 0 &&
          BigInt(`0x${hex(content)}`) === value && minimal
      }),
      { numRuns: 300 }
    )
  })
})
