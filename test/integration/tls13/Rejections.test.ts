import { Effect } from "effect"
import type * as tls from "node:tls"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { TLS_CHACHA20_POLY1305_SHA256 } from "../../../src/services/Tls13/CipherSuite.js"
import { connectTls13Scoped } from "../../../src/services/Tls13/Tls13Socket.js"
import { type Issued, issueServer, makeRootCa } from "../../unit/tls13/TestPki.js"
import { exchange, outcomeTag } from "./ClientRun.js"
import { echo, startTlsServer } from "./NodeTlsServer.js"
import { startRawServer, startRelay } from "./TcpRelay.js"

let root: Issued
let leaf: Issued
const running: Array<{ close(): Promise<void> }> = []
const day = 24 * 60 * 60 * 1000

beforeAll(async () => {
  root = await makeRootCa("Rejections Root", "p256")
  leaf = await issueServer(root)
})

afterEach(async () => {
  for (const resource of running.splice(0)) await resource.close()
})

const serve = async (certificate: Issued, onConnection: (socket: tls.TLSSocket) => void = echo) => {
  const server = await startTlsServer({ key: certificate.privateKeyPem, cert: certificate.certificatePem }, onConnection)
  running.push(server)
  return server.port
}

const options = (port: number) => ({ host: "127.0.0.1", port, rootCertificates: [root.certificatePem] })

describe("the TLS 1.3 client refuses what it must not trust", () => {
  it("fails with UntrustedRoot when the server chain leads to another root", async () => {
    const otherRoot = await makeRootCa("Some Other Root", "p256")
    const port = await serve(await issueServer(otherRoot))
    expect(outcomeTag(await exchange(options(port)))).toBe("UntrustedRoot")
  })

  it("fails with HostnameMismatch when the certificate does not name the host", async () => {
    const port = await serve(leaf)
    expect(outcomeTag(await exchange({ ...options(port), servername: "registry.example" }))).toBe("HostnameMismatch")
  })

  it("fails with HostnameMismatch when the certificate does not hold the IP address", async () => {
    const port = await serve(await issueServer(root, { ipAddresses: ["10.1.2.3"] }))
    expect(outcomeTag(await exchange(options(port)))).toBe("HostnameMismatch")
  })

  it("fails with CertificateExpired for a leaf past its notAfter", async () => {
    const expired = await issueServer(root, {
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() - day)
    })
    expect(outcomeTag(await exchange(options(await serve(expired))))).toBe("CertificateExpired")
  })

  it("fails with CertificateNotYetValid for a leaf before its notBefore", async () => {
    const future = await issueServer(root, {
      notBefore: new Date(Date.now() + day),
      notAfter: new Date(Date.now() + 10 * day)
    })
    expect(outcomeTag(await exchange(options(await serve(future))))).toBe("CertificateNotYetValid")
  })

  it("fails with BadRecordMac when one ciphertext byte of the server's flight is flipped", async () => {
    const relay = await startRelay(await serve(leaf), (record) => {
      if (record[0] !== 23) return record
      const tampered = Buffer.from(record)
      tampered[10]! ^= 0x01
      return tampered
    })
    running.push(relay)
    expect(outcomeTag(await exchange(options(relay.port)))).toBe("BadRecordMac")
  })

  it("fails with BadRecordMac when application data is tampered after the handshake", async () => {
    let protectedRecords = 0
    const relay = await startRelay(await serve(leaf), (record) => {
      if (record[0] !== 23 || ++protectedRecords < 7) return record
      const tampered = Buffer.from(record)
      tampered[tampered.length - 1]! ^= 0x80
      return tampered
    })
    running.push(relay)
    expect(outcomeTag(await exchange(options(relay.port)))).toBe("BadRecordMac")
  })

  it("fails with TruncatedStream when the server hangs up in the middle of a ServerHello", async () => {
    const raw = await startRawServer(Buffer.from("160303005a0200005603", "hex"))
    running.push(raw)
    const outcome = await exchange(options(raw.port))
    expect(outcomeTag(outcome)).toBe("TruncatedStream")
    expect(outcome._tag === "Failed" && (outcome.error as unknown as { phase: string }).phase).toBe("handshake")
  })

  it("fails with TruncatedStream when the server closes TCP after the handshake without close_notify", async () => {
    const port = await serve(leaf, (socket) => {
      socket.on("error", () => undefined)
      socket.once("data", () => socket.destroy())
    })
    const outcome = await exchange(options(port))
    expect(outcomeTag(outcome)).toBe("TruncatedStream")
    expect(outcome._tag === "Failed" && (outcome.error as unknown as { phase: string }).phase).toBe("data")
  })

  it("fails with DecodeError when an HTTP server answers instead of a ServerHello", async () => {
    const raw = await startRawServer(Buffer.from("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"))
    running.push(raw)
    expect(outcomeTag(await exchange(options(raw.port)))).toBe("DecodeError")
  })

  it("fails with AlertReceived when the server supports no offered cipher suite", async () => {
    const server = await startTlsServer(
      { key: leaf.privateKeyPem, cert: leaf.certificatePem, ciphers: "TLS_AES_128_GCM_SHA256" },
      echo
    )
    running.push(server)
    const outcome = await exchange({ ...options(server.port), cipherSuites: [TLS_CHACHA20_POLY1305_SHA256] })
    expect(outcomeTag(outcome)).toBe("AlertReceived")
  })

  it("fails with HandshakeAborted when the handshake outlasts the timeout", async () => {
    const silent = await startRawServer(undefined)
    running.push(silent)
    expect(outcomeTag(await exchange({ ...options(silent.port), timeout: 200 }))).toBe("HandshakeAborted")
  })
})

describe("the scoped TLS 1.3 connection", () => {
  it("fails with the socket's typed error when the handshake is aborted by the signal", async () => {
    const silent = await startRawServer(undefined)
    running.push(silent)
    const controller = new AbortController()
    const result = Effect.runPromise(
      Effect.scoped(connectTls13Scoped({ ...options(silent.port), signal: controller.signal })).pipe(
        Effect.match({ onFailure: (error) => error._tag, onSuccess: () => "connected" })
      )
    )
    controller.abort()
    expect(await result).toBe("HandshakeAborted")
  })

  it("yields a connected socket inside the scope", async () => {
    const port = await serve(leaf)
    const reply = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(connectTls13Scoped(options(port)), (socket) =>
          Effect.promise(
            () =>
              new Promise<string>((resolve) => {
                socket.once("data", (chunk: Buffer) => resolve(chunk.toString()))
                socket.write("scoped")
              })
          )
        )
      )
    )
    expect(reply).toBe("scoped")
  })
})
