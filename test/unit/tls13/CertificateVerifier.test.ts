import { beforeAll, describe, expect, it } from "vitest"
import { CertificateVerifier } from "../../../src/services/Tls13/CertificateVerifier.js"
import { type Issued, issue, issueServer, makeRootCa } from "./TestPki.js"

let root: Issued
let intermediate: Issued
let leaf: Issued
const day = 24 * 60 * 60 * 1000

beforeAll(async () => {
  root = await makeRootCa("Verifier Root", "p384")
  intermediate = await issue(root, "Verifier Intermediate", { ca: true })
  leaf = await issueServer(intermediate)
})

const failureTag = (run: () => unknown): string => {
  try {
    run()
    return "verified"
  } catch (error) {
    return (error as { _tag?: string })._tag ?? String(error)
  }
}

describe("server certificate verification", () => {
  it("accepts a chain through an intermediate for the DNS name and the IP address in the leaf", () => {
    const verifier = new CertificateVerifier([root.certificatePem])
    const chain = [leaf.certificateDer, intermediate.certificateDer]
    expect(verifier.verify(chain, "localhost").subject).toContain("CN=test server")
    expect(verifier.verify(chain, "127.0.0.1").subject).toContain("CN=test server")
  })

  it("accepts a leaf issued directly by the root", async () => {
    const direct = await issueServer(root)
    expect(failureTag(() => new CertificateVerifier([root.certificatePem]).verify([direct.certificateDer], "localhost"))).toBe(
      "verified"
    )
  })

  it("rejects a chain missing its intermediate as UntrustedRoot", () => {
    const verifier = new CertificateVerifier([root.certificatePem])
    expect(failureTag(() => verifier.verify([leaf.certificateDer], "localhost"))).toBe("UntrustedRoot")
  })

  it("rejects an issuer that is not a CA as NotACa", async () => {
    const notCa = await issue(root, "Not A CA", { ca: false })
    const below = await issueServer(notCa)
    const verifier = new CertificateVerifier([root.certificatePem])
    expect(failureTag(() => verifier.verify([below.certificateDer, notCa.certificateDer], "localhost"))).toBe("NotACa")
  })

  it("rejects a leaf whose signature was altered as BadSignature", () => {
    const tampered = Buffer.from(leaf.certificateDer)
    tampered[tampered.length - 5]! ^= 0x01
    const verifier = new CertificateVerifier([root.certificatePem])
    expect(failureTag(() => verifier.verify([tampered, intermediate.certificateDer], "localhost"))).toBe("BadSignature")
  })

  it("rejects an expired intermediate as CertificateExpired", async () => {
    const old = await issue(root, "Old Intermediate", {
      ca: true,
      notBefore: new Date(Date.now() - 20 * day),
      notAfter: new Date(Date.now() - 10 * day)
    })
    const below = await issueServer(old)
    const verifier = new CertificateVerifier([root.certificatePem])
    expect(failureTag(() => verifier.verify([below.certificateDer, old.certificateDer], "localhost"))).toBe(
      "CertificateExpired"
    )
  })

  it("judges validity by the clock it is given", () => {
    const verifier = new CertificateVerifier([root.certificatePem], () => new Date(Date.now() + 400 * day))
    expect(failureTag(() => verifier.verify([leaf.certificateDer, intermediate.certificateDer], "localhost"))).toBe(
      "CertificateExpired"
    )
  })

  it("rejects a host the leaf does not name as HostnameMismatch", () => {
    const verifier = new CertificateVerifier([root.certificatePem])
    expect(failureTag(() => verifier.verify([leaf.certificateDer, intermediate.certificateDer], "evil.example"))).toBe(
      "HostnameMismatch"
    )
    expect(failureTag(() => verifier.verify([leaf.certificateDer, intermediate.certificateDer], "10.0.0.1"))).toBe(
      "HostnameMismatch"
    )
  })

  it("rejects an empty chain and bytes that are not a certificate", () => {
    const verifier = new CertificateVerifier([root.certificatePem])
    expect(failureTag(() => verifier.verify([], "localhost"))).toBe("EmptyCertificateChain")
    expect(failureTag(() => verifier.verify([Buffer.from("not a certificate")], "localhost"))).toBe("MalformedCertificate")
  })
})

describe("root configuration", () => {
  it("refuses a root that is not a certificate with InvalidRootCertificate naming its position", () => {
    let caught: unknown
    try {
      new CertificateVerifier([root.certificatePem, "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"])
    } catch (error) {
      caught = error
    }
    expect(caught).toMatchObject({ _tag: "InvalidRootCertificate", position: 1 })
  })
})
