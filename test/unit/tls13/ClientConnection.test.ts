import * as crypto from "node:crypto"
import { beforeAll, describe, expect, it } from "vitest"
import { CertificateVerifier } from "../../../src/services/Tls13/CertificateVerifier.js"
import { allCipherSuites } from "../../../src/services/Tls13/CipherSuite.js"
import type { ClientCertificateRequest, ClientConfig } from "../../../src/services/Tls13/handshake/client/ClientConfig.js"
import { AlertDescription } from "../../../src/services/Tls13/messages/Alert.js"
import { allNamedGroups, NamedGroup } from "../../../src/services/Tls13/NamedGroup.js"
import { connectScripted, until } from "./ScriptedServer.js"
import { type Issued, issue, issueServer, makeRootCa } from "./TestPki.js"

let root: Issued
let leaf: Issued
let clientLeaf: Issued

beforeAll(async () => {
  root = await makeRootCa("Scripted Root", "p256")
  leaf = await issueServer(root)
  clientLeaf = await issue(await makeRootCa("Scripted Client Root", "p256"), "ra-tls client", { kind: "rsa" })
})

const config = (overrides: Partial<ClientConfig> = {}): ClientConfig => ({
  serverName: "localhost",
  verifier: new CertificateVerifier([root.certificatePem]),
  cipherSuites: allCipherSuites,
  groups: allNamedGroups,
  clientCertificate: undefined,
  ...overrides
})

const text = (chunks: ReadonlyArray<Buffer>) => Buffer.concat(chunks).toString()

describe("the client connection against a scripted server", () => {
  it("reassembles a server flight fragmented into 7-byte records", async () => {
    const { events, server } = connectScripted(config(), { leaf, fragmentSize: 7 })
    await until(() => events.connected)
    server.sendApplicationData(Buffer.from("after fragments"))
    await until(() => events.data.length > 0)
    expect(text(events.data)).toBe("after fragments")
    expect(events.failures).toEqual([])
  })

  it("keeps reading after a KeyUpdate that does not ask for an answer", async () => {
    const { events, server } = connectScripted(config(), { leaf })
    await until(() => events.connected)
    server.sendApplicationData(Buffer.from("old key;"))
    server.sendKeyUpdate(false)
    server.sendApplicationData(Buffer.from("new key"))
    await until(() => text(events.data).length === 15)
    expect(text(events.data)).toBe("old key;new key")
    expect(server.keyUpdatesReceived).toBe(0)
  })

  it("answers a KeyUpdate with update_requested and then sends under its new key", async () => {
    const { client, events, server } = connectScripted(config(), { leaf })
    await until(() => events.connected)
    server.sendKeyUpdate(true)
    server.sendApplicationData(Buffer.from("ping"))
    await until(() => events.data.length > 0)
    client.send(Buffer.from("pong"))
    await until(() => server.received.length > 0)
    expect(server.keyUpdatesReceived).toBe(1)
    expect(text(server.received)).toBe("pong")
  })

  it("hands the raw RA-TLS challenge to the certificate callback and proves the client key", async () => {
    const challenge = Buffer.from(crypto.randomBytes(64).toString("base64"), "ascii")
    const requests: Array<ClientCertificateRequest> = []
    const { events, server } = connectScripted(
      config({
        clientCertificate: async (request) => {
          requests.push(request)
          return { chainDer: [clientLeaf.certificateDer], privateKey: clientLeaf.privateKey }
        }
      }),
      {
        leaf,
        certificateRequest: {
          context: new Uint8Array(0),
          signatureAlgorithms: [0x0804, 0x0403],
          signatureAlgorithmsCert: [],
          certificateAuthorities: [challenge]
        }
      }
    )
    await until(() => events.connected && server.clientSignatureVerified)
    expect(requests.map((request) => Buffer.from(request.certificateAuthorities[0]!).toString())).toEqual([
      challenge.toString()
    ])
    expect(server.clientCertificates.map((chain) => Buffer.from(chain[0]!).equals(clientLeaf.certificateDer))).toEqual([
      true
    ])
  })

  it("fails with ClientCertificateFailed when the certificate callback rejects", async () => {
    const { events } = connectScripted(
      config({
        clientCertificate: () => Promise.reject(new Error("no token"))
      }),
      {
        leaf,
        certificateRequest: {
          context: new Uint8Array(0),
          signatureAlgorithms: [0x0804],
          signatureAlgorithmsCert: [],
          certificateAuthorities: []
        }
      }
    )
    await until(() => events.failures.length > 0)
    expect(events.failures.map((error) => (error as unknown as { _tag: string })._tag)).toEqual([
      "ClientCertificateFailed"
    ])
  })

  it("reports the end of the stream when the server sends close_notify", async () => {
    const { events, server } = connectScripted(config(), { leaf })
    await until(() => events.connected)
    server.sendApplicationData(Buffer.from("last words"))
    server.sendApplicationData(Buffer.alloc(0))
    server.sendAlert(AlertDescription.close_notify)
    await until(() => events.closed)
    expect(text(events.data)).toBe("last words")
    expect(events.failures).toEqual([])
  })

  it("fails with AlertReceived naming the alert the server sent", async () => {
    const { events, server } = connectScripted(config(), { leaf })
    await until(() => events.connected)
    server.sendAlert(AlertDescription.internal_error)
    await until(() => events.failures.length > 0)
    expect(events.failures.map((error) => [(error as unknown as { _tag: string })._tag, (error as unknown as { alert: string }).alert])).toEqual([
      ["AlertReceived", "internal_error"]
    ])
  })

  it("echoes the HelloRetryRequest cookie and completes with a key share for the requested group", async () => {
    const cookie = Buffer.from("stateless server cookie")
    const { events, server } = connectScripted(config(), {
      leaf,
      retry: { group: NamedGroup.secp384r1, cookie, times: 1 }
    })
    await until(() => events.connected || events.failures.length > 0)
    expect(events.failures).toEqual([])
    expect(server.echoedCookies.map((echoed) => Buffer.from(echoed ?? []).toString())).toEqual([cookie.toString()])
  })

  it("fails with UnexpectedMessage on a second HelloRetryRequest", async () => {
    const { events } = connectScripted(config(), {
      leaf,
      retry: { group: NamedGroup.secp384r1, cookie: Buffer.from("again"), times: 2 }
    })
    await until(() => events.failures.length > 0)
    expect(events.failures.map((error) => (error as unknown as { _tag: string })._tag)).toEqual(["UnexpectedMessage"])
  })
})
