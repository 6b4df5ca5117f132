import * as crypto from "node:crypto"
import type * as tls from "node:tls"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { NamedGroup } from "../../../src/services/Tls13/NamedGroup.js"
import { RecordReader } from "../../../src/services/Tls13/RecordLayer.js"
import type { ClientCertificateRequest } from "../../../src/services/Tls13/handshake/client/ClientConfig.js"
import { type Issued, issue, issueServer, type KeyKind, makeRootCa } from "../../unit/tls13/TestPki.js"
import { exchange, outcomeTag } from "./ClientRun.js"
import { echo, type RunningServer, startTlsServer } from "./NodeTlsServer.js"
import { startRelay } from "./TcpRelay.js"

let root: Issued
const leaves = new Map<KeyKind, Issued>()
const running: Array<{ close(): Promise<void> }> = []

beforeAll(async () => {
  root = await makeRootCa("Interop Root", "p256")
  for (const kind of ["rsa", "p256", "p384", "ed25519"] as const) leaves.set(kind, await issueServer(root, { kind }))
})

afterEach(async () => {
  for (const resource of running.splice(0)) await resource.close()
})

const serve = async (options: tls.TlsOptions, onConnection = echo): Promise<RunningServer> => {
  const leaf = leaves.get("p256")!
  const server = await startTlsServer({ key: leaf.privateKeyPem, cert: leaf.certificatePem, ...options }, onConnection)
  running.push(server)
  return server
}

const clientOptions = (port: number) => ({ host: "127.0.0.1", port, rootCertificates: [root.certificatePem] })

/** How many ClientHello messages the client sent, counted in its plaintext handshake records. */
const clientHelloCount = (bytes: ReadonlyArray<Buffer>): number => {
  const reader = new RecordReader()
  for (const chunk of bytes) reader.push(chunk)
  let hellos = 0
  for (let record = reader.next(); record !== undefined; record = reader.next()) {
    if (record.type === 22 && record.body[0] === 1) hellos++
  }
  return hellos
}

describe("the TLS 1.3 client against Node's TLS server", () => {
  for (const suite of ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]) {
    it(`exchanges data under ${suite} when the server allows only that suite`, async () => {
      const negotiated: Array<string | undefined> = []
      const server = await serve({ ciphers: suite }, (socket) => {
        negotiated.push(socket.getCipher().standardName)
        echo(socket)
      })
      const outcome = await exchange(clientOptions(server.port), "over " + suite)
      expect(outcome).toEqual({ _tag: "Received", data: Buffer.from("over " + suite) })
      expect(negotiated).toEqual([suite])
    })
  }

  for (const curve of ["X25519", "P-256", "P-384"]) {
    it(`agrees on a key with a server that only accepts ${curve}`, async () => {
      const server = await serve({ ecdhCurve: curve })
      expect(await exchange(clientOptions(server.port))).toEqual({ _tag: "Received", data: Buffer.from("ping") })
    })
  }

  it("answers a HelloRetryRequest with a P-384 key share and completes", async () => {
    const server = await serve({ ecdhCurve: "P-384" })
    const relay = await startRelay(server.port)
    running.push(relay)
    const outcome = await exchange({
      ...clientOptions(relay.port),
      servername: "127.0.0.1",
      groups: [NamedGroup.x25519, NamedGroup.secp384r1]
    })
    expect(outcome).toEqual({ _tag: "Received", data: Buffer.from("ping") })
    expect(clientHelloCount(relay.fromClient)).toBe(2)
  })

  for (const kind of ["rsa", "p256", "p384", "ed25519"] as const) {
    it(`verifies the CertificateVerify of a server with a ${kind} key`, async () => {
      const leaf = leaves.get(kind)!
      const server = await serve({ key: leaf.privateKeyPem, cert: leaf.certificatePem })
      expect(await exchange(clientOptions(server.port))).toEqual({ _tag: "Received", data: Buffer.from("ping") })
    })
  }

  it("accepts a server chain that goes through an intermediate CA", async () => {
    const intermediate = await issue(root, "Interop Intermediate", { ca: true })
    const leaf = await issueServer(intermediate)
    const server = await serve({ key: leaf.privateKeyPem, cert: `${leaf.certificatePem}\n${intermediate.certificatePem}` })
    expect(await exchange(clientOptions(server.port))).toEqual({ _tag: "Received", data: Buffer.from("ping") })
  })

  it("authenticates with the client certificate from the callback to a server that requires one", async () => {
    const clientRoot = await makeRootCa("Client Root", "p256")
    const clientLeaf = await issue(clientRoot, "the client", { kind: "rsa" })
    const seen: Array<string> = []
    const requests: Array<ClientCertificateRequest> = []
    const server = await serve({ requestCert: true, rejectUnauthorized: true, ca: [clientRoot.certificatePem] }, (socket) => {
      seen.push(`${socket.authorized} ${(socket.getPeerCertificate().subject as { CN?: string }).CN}`)
      echo(socket)
    })
    const outcome = await exchange({
      ...clientOptions(server.port),
      clientCertificate: async (request) => {
        requests.push(request)
        return { chainDer: [clientLeaf.certificateDer], privateKey: clientLeaf.privateKey }
      }
    })
    expect(outcome).toEqual({ _tag: "Received", data: Buffer.from("ping") })
    expect(seen).toEqual(["true the client"])
    expect(requests).toHaveLength(1)
    expect(requests[0]!.certificateAuthorities).toHaveLength(1)
    expect(Buffer.from(requests[0]!.certificateAuthorities[0]!).includes("Client Root")).toBe(true)
    expect(requests[0]!.signatureAlgorithms).toContain(0x0804)
  })

  it("signs with ECDSA when the client key is P-256", async () => {
    const clientRoot = await makeRootCa("Client EC Root", "p256")
    const clientLeaf = await issue(clientRoot, "the ec client", { kind: "p256" })
    const server = await serve({ requestCert: true, rejectUnauthorized: true, ca: [clientRoot.certificatePem] })
    const outcome = await exchange({
      ...clientOptions(server.port),
      clientCertificate: async () => ({ chainDer: [clientLeaf.certificateDer], privateKey: clientLeaf.privateKey })
    })
    expect(outcome).toEqual({ _tag: "Received", data: Buffer.from("ping") })
  })

  it("sends an empty Certificate when the callback has none, which a requiring server refuses", async () => {
    const clientRoot = await makeRootCa("Unused Client Root", "p256")
    const server = await serve({ requestCert: true, rejectUnauthorized: true, ca: [clientRoot.certificatePem] })
    const outcome = await exchange({ ...clientOptions(server.port), clientCertificate: async () => null })
    expect(outcomeTag(outcome)).toBe("AlertReceived")
    expect(outcome._tag === "Failed" && (outcome.error as unknown as { alert: string }).alert).toBe("certificate_required")
  })

  it("carries a 4 MiB echo through intact", async () => {
    const server = await serve({})
    const payload = crypto.randomBytes(4 * 1024 * 1024)
    const outcome = await exchange(clientOptions(server.port), payload)
    expect(outcome._tag).toBe("Received")
    const digest = (bytes: Buffer) => crypto.createHash("sha256").update(bytes).digest("hex")
    expect(outcome._tag === "Received" && digest(outcome.data)).toBe(digest(payload))
  })
})
