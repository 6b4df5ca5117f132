import { Either } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import * as Config from "../../../src/domain/Config.js"
import { toTransportError } from "../../../src/services/HttpTransport/RaTlsHttpTransport.js"
import { RaTlsChallengeAmbiguous } from "../../../src/services/RaTlsCredentials/RaTlsChallenge.js"
import * as RaTlsCertResolver from "../../../src/services/RaTlsCredentials/RaTlsCertResolver.js"
import { UntrustedRoot } from "../../../src/services/Tls13/CertificateVerifier.js"
import {
  AlertReceived,
  ClientCertificateFailed,
  HandshakeAborted,
  TransportError,
  TruncatedStream
} from "../../../src/services/Tls13/Tls13Error.js"
import * as TokenResolver from "../../../src/services/TokenResolver/TokenResolver.js"
import { type Issued, makeRootCa } from "../tls13/TestPki.js"

const host = "registry.test:8443"
const resolver = RaTlsCertResolver.fromTokenResolver(TokenResolver.fromFile("token.bin"))

let rootA: Issued
let rootB: Issued

beforeAll(async () => {
  rootA = await makeRootCa("Root A")
  rootB = await makeRootCa("Root B")
})

describe("RA-TLS engine failures as transport errors", () => {
  it("an untrusted server certificate is a TlsError coded UntrustedRoot with the engine's reason", () => {
    const error = toTransportError(host, 1000, new UntrustedRoot({ host: "registry.test", issuer: "CN=Other" }))
    expect(error).toMatchObject({ _tag: "TlsError", code: "UntrustedRoot", host })
    expect(error.message).toContain("does not lead to a configured root (last issuer: CN=Other)")
  })

  it("a failed client certificate shows the RA-TLS reason as the code and in the message", () => {
    const error = toTransportError(host, 1000, new ClientCertificateFailed({ cause: new RaTlsChallengeAmbiguous({ count: 2 }) }))
    expect(error).toMatchObject({ _tag: "TlsError", code: "RaTlsChallengeAmbiguous" })
    expect(error.message).toContain("carries 2 certificate_authorities entries")
  })

  it("a fatal alert from the server is a TlsError naming the alert", () => {
    const error = toTransportError(host, 1000, new AlertReceived({ description: 42, alert: "bad_certificate" }))
    expect(error).toMatchObject({ _tag: "TlsError", code: "AlertReceived" })
    expect(error.message).toContain("bad_certificate")
  })

  it("a stream cut without close_notify is a ConnectionError", () => {
    expect(toTransportError(host, 1000, new TruncatedStream({ phase: "data" }))).toMatchObject({ _tag: "ConnectionError", code: "TruncatedStream" })
  })

  it("a handshake timeout is a connect TimeoutError with the configured time", () => {
    expect(toTransportError(host, 2500, new HandshakeAborted({ reason: "timeout" }))).toMatchObject({
      _tag: "TimeoutError",
      phase: "connect",
      millis: 2500
    })
  })

  it("a refused TCP connection is a ConnectionError with Node's code", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    expect(toTransportError(host, 1000, new TransportError({ cause: refused }))).toMatchObject({ _tag: "ConnectionError", code: "ECONNREFUSED" })
  })
})

describe("the RA-TLS config", () => {
  it("is an https origin in ra-tls mode", () => {
    const config = Config.builder().host("127.0.0.1:1337").raTls(rootA.certificatePem, resolver)
    const resolved = Config.validate(config)
    expect(Either.isRight(resolved) && resolved.right.origin.href).toBe("https://127.0.0.1:1337/")
    expect(Config.modeName(config.mode)).toBe("ra-tls")
  })

  it("refuses an http:// host", () => {
    const resolved = Config.validate(Config.builder().host("http://127.0.0.1:1337").raTls(rootA.certificatePem, resolver))
    expect(Either.isLeft(resolved) && resolved.left.message).toContain("http contradicts the ra-tls mode")
  })

  it("takes every certificate of a PEM bundle as a root", () => {
    const roots = Config.rootCertificateList([`${rootA.certificatePem}\n${rootB.certificatePem}`])
    expect(Either.isRight(roots) && roots.right.length).toBe(2)
  })

  it("refuses a root that is not a certificate, naming its position", () => {
    const resolved = Config.validate(Config.builder().host("localhost:1").raTls([rootA.certificatePem, "not a certificate"], resolver))
    expect(Either.isLeft(resolved) && resolved.left.reason).toBe("root certificate 1 is not a valid X.509 certificate")
  })

  it("refuses an empty root list", () => {
    const resolved = Config.validate(Config.builder().host("localhost:1").raTls([], resolver))
    expect(Either.isLeft(resolved) && resolved.left.reason).toBe("no root certificate given")
  })
})
