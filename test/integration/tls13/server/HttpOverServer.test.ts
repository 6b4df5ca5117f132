import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as crypto from "node:crypto"
import * as http from "node:http"
import * as https from "node:https"
import { listenTls13Scoped } from "../../../../src/services/Tls13/Tls13Server.js"
import { connectTls13 } from "../../../../src/services/Tls13/Tls13Socket.js"
import { issueServer, makeRootCa } from "../../../unit/tls13/TestPki.js"

const largeBody = crypto.randomBytes(4 * 1024 * 1024)

const pki = Effect.promise(async () => {
  const root = await makeRootCa("Http Server Root", "p256")
  return { root, leaf: await issueServer(root) }
}).pipe(Effect.cached, Effect.runSync)

/** node:http serving over the engine's server sockets; it never listens itself. */
const serveHttp = Effect.gen(function* () {
  const { leaf } = yield* pki
  const secured = { count: 0 }
  const app = http.createServer({ keepAliveTimeout: 10_000 }, (request, response) => {
    if (request.url === "/large") {
      response.writeHead(200, { "content-length": largeBody.length })
      response.end(largeBody)
    } else {
      response.end(`hello ${request.url}`)
    }
  })
  const { port } = yield* listenTls13Scoped(
    { certificateChainPem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem },
    (socket) => {
      secured.count++
      app.emit("connection", socket)
    }
  )
  return { port, secured }
})

const get = (options: https.RequestOptions, client: typeof http | typeof https): Promise<{ status: number; body: Buffer }> =>
  new Promise((resolve, reject) => {
    const request = client.request(options, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }))
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end()
  })

const digest = (bytes: Buffer) => crypto.createHash("sha256").update(bytes).digest("hex")

describe("node:http served over the TLS 1.3 server engine", () => {
  it.scoped("answers two keep-alive requests from node:http over the engine's client on one connection", () =>
    Effect.gen(function* () {
      const { root } = yield* pki
      const { port, secured } = yield* serveHttp
      const agent = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const created = new http.Agent({ keepAlive: true, maxSockets: 1 })
          created.createConnection = () => connectTls13({ host: "127.0.0.1", port, rootCertificates: [root.certificatePem] })
          return created
        }),
        (created) => Effect.sync(() => created.destroy())
      )
      const first = yield* Effect.promise(() => get({ host: "127.0.0.1", port, path: "/one", agent }, http))
      const second = yield* Effect.promise(() => get({ host: "127.0.0.1", port, path: "/two", agent }, http))
      expect([first.status, first.body.toString(), second.status, second.body.toString()]).toEqual([
        200,
        "hello /one",
        200,
        "hello /two"
      ])
      expect(secured.count).toBe(1)
    })
  )

  it.scoped("serves Node's https client two keep-alive requests and a 4 MiB body intact", () =>
    Effect.gen(function* () {
      const { root } = yield* pki
      const { port, secured } = yield* serveHttp
      const agent = yield* Effect.acquireRelease(
        Effect.sync(
          () => new https.Agent({ keepAlive: true, maxSockets: 1, ca: root.certificatePem, servername: "localhost" })
        ),
        (created) => Effect.sync(() => created.destroy())
      )
      const small = yield* Effect.promise(() => get({ host: "127.0.0.1", port, path: "/small", agent }, https))
      const large = yield* Effect.promise(() => get({ host: "127.0.0.1", port, path: "/large", agent }, https))
      expect([small.status, small.body.toString()]).toEqual([200, "hello /small"])
      expect([large.status, digest(large.body)]).toEqual([200, digest(largeBody)])
      expect(secured.count).toBe(1)
    })
  )
})
