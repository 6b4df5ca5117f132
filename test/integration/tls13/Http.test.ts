import * as crypto from "node:crypto"
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connectTls13 } from "../../../src/services/Tls13/Tls13Socket.js"
import { type Issued, issueServer, makeRootCa } from "../../unit/tls13/TestPki.js"

const largeBody = crypto.randomBytes(16 * 1024 * 1024)
let root: Issued
let server: https.Server
let port: number
let connections = 0

beforeAll(async () => {
  root = await makeRootCa("Http Root", "p256")
  const leaf = await issueServer(root)
  server = https.createServer(
    { key: leaf.privateKeyPem, cert: leaf.certificatePem, minVersion: "TLSv1.3", keepAliveTimeout: 10_000 },
    (request, response) => {
      if (request.url === "/large") {
        response.writeHead(200, { "content-length": largeBody.length })
        response.end(largeBody)
      } else {
        response.end(`hello ${request.url}`)
      }
    }
  )
  server.on("secureConnection", () => connections++)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as net.AddressInfo).port
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const agent = () => {
  const created = new http.Agent({ keepAlive: true, maxSockets: 1 })
  created.createConnection = (options) =>
    connectTls13({ host: options.host ?? "127.0.0.1", port: Number(options.port), rootCertificates: [root.certificatePem] })
  return created
}

const get = (through: http.Agent, path: string): Promise<{ status: number; body: Buffer }> =>
  new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path, agent: through }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }))
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end()
  })

describe("node:http over the TLS 1.3 socket", () => {
  it("answers two keep-alive requests over one TLS connection", async () => {
    const through = agent()
    const before = connections
    const first = await get(through, "/one")
    const second = await get(through, "/two")
    through.destroy()
    expect([first.status, first.body.toString()]).toEqual([200, "hello /one"])
    expect([second.status, second.body.toString()]).toEqual([200, "hello /two"])
    expect(connections - before).toBe(1)
  })

  it("downloads a 16 MiB body intact", async () => {
    const through = agent()
    const response = await get(through, "/large")
    through.destroy()
    const digest = (bytes: Buffer) => crypto.createHash("sha256").update(bytes).digest("hex")
    expect(response.status).toBe(200)
    expect(digest(response.body)).toBe(digest(largeBody))
  })
})
