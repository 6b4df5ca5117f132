import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Stream } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { createHash } from "node:crypto"
import { readBody } from "../../../src/services/HttpTransport/HttpTransport.js"
import * as NodeHttpTransport from "../../../src/services/HttpTransport/NodeHttpTransport.js"
import { makeServerCertificates } from "../../registry-fixture/Certificates.js"

const options = { connectTimeout: Duration.millis(400), idleTimeout: Duration.millis(400), maxSockets: 4 }

/** A loopback server for the length of the scope; closing it also drops the connections it holds. */
const serve = (server: net.Server) =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        for (const socket of sockets.get(server) ?? []) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.tap(() => Effect.sync(() => {
    const open = new Set<net.Socket>()
    sockets.set(server, open)
    server.on("connection", (socket: net.Socket) => {
      open.add(socket)
      socket.on("close", () => open.delete(socket))
    })
  })))

const sockets = new WeakMap<net.Server, Set<net.Socket>>()

/** A port that nobody listens on: bound, then released. */
const freePort = Effect.async<number>((resume) => {
  const probe = net.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const port = (probe.address() as AddressInfo).port
    probe.close(() => resume(Effect.succeed(port)))
  })
})

const get = (port: number, path = "/", protocol = "http:") =>
  Effect.gen(function* () {
    const transport = yield* NodeHttpTransport.make(options)
    const response = yield* transport.request({ method: "GET", url: new URL(`${protocol}//127.0.0.1:${port}${path}`) })
    const body = yield* Stream.runCollect(response.body)
    return { status: response.status, headers: response.headers, body: Buffer.concat(Chunk.toArray(body)) }
  })

describe("NodeHttpTransport", () => {
  it.scoped("a refused connection fails with ConnectionError carrying ECONNREFUSED", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(get(yield* freePort))
      expect(error._tag).toBe("ConnectionError")
      expect(error._tag === "ConnectionError" && error.code).toBe("ECONNREFUSED")
    }))

  it.scoped("a server that accepts but never answers fails with an idle TimeoutError", () =>
    Effect.gen(function* () {
      const port = yield* serve(net.createServer(() => {}))
      const error = yield* Effect.flip(get(port))
      expect(error._tag).toBe("TimeoutError")
      expect(error._tag === "TimeoutError" && error.phase).toBe("idle")
    }))

  it.scoped("a TLS server that never finishes its handshake fails with a connect TimeoutError", () =>
    Effect.gen(function* () {
      const port = yield* serve(net.createServer(() => {}))
      const error = yield* Effect.flip(get(port, "/", "https:"))
      expect(error._tag).toBe("TimeoutError")
      expect(error._tag === "TimeoutError" && error.phase).toBe("connect")
    }))

  it.scoped("a body that stalls halfway fails the stream with an idle TimeoutError", () =>
    Effect.gen(function* () {
      const port = yield* serve(http.createServer((_, res) => {
        res.writeHead(200, { "content-length": "100" })
        res.write("x".repeat(10))
      }))
      const error = yield* Effect.flip(get(port))
      expect(error._tag).toBe("TimeoutError")
    }))

  it.scoped("a connection cut before the announced length fails with ConnectionError", () =>
    Effect.gen(function* () {
      const port = yield* serve(http.createServer((req, res) => {
        res.writeHead(200, { "content-length": "100" })
        res.write("x".repeat(10), () => req.socket.destroy())
      }))
      const error = yield* Effect.flip(get(port))
      expect(error._tag).toBe("ConnectionError")
    }))

  it.scoped("two requests in a row share one keep-alive connection", () =>
    Effect.gen(function* () {
      let connections = 0
      const server = http.createServer((_, res) => res.end("ok"))
      server.on("connection", () => connections++)
      const port = yield* serve(server)
      const transport = yield* NodeHttpTransport.make(options)
      for (const path of ["/a", "/b"]) {
        const response = yield* Effect.scoped(
          Effect.flatMap(transport.request({ method: "GET", url: new URL(`http://127.0.0.1:${port}${path}`) }), (r) =>
            Stream.runCollect(r.body))
        )
        expect(Buffer.concat(Chunk.toArray(response)).toString()).toBe("ok")
      }
      expect(connections).toBe(1)
    }))

  it.scoped("repeated response headers are joined and names are lower case", () =>
    Effect.gen(function* () {
      const port = yield* serve(http.createServer((_, res) => {
        res.setHeader("Link", ["</a>; rel=\"prev\"", "</b>; rel=\"next\""])
        res.end()
      }))
      const response = yield* get(port)
      expect(response.headers["link"]).toBe('</a>; rel="prev", </b>; rel="next"')
    }))

  // 12 MiB in 1 KiB writes: many socket reads, several wraps of the ring.
  const payload = Buffer.alloc(12 * 1024 * 1024)
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24

  it.scoped("a transient body reuses its chunks' memory, and each chunk is right when it is pulled", () =>
    Effect.gen(function* () {
      const port = yield* serve(http.createServer((_, res) => {
        res.writeHead(200, { "content-length": String(payload.length) })
        let at = 0
        const more = () => {
          while (at < payload.length) {
            const ok = res.write(payload.subarray(at, at + 1024))
            at += 1024
            if (!ok) return void res.once("drain", more)
          }
          res.end()
        }
        more()
      }))
      const transport = yield* NodeHttpTransport.make(options)
      const url = new URL(`http://127.0.0.1:${port}/blob`)
      const response = yield* transport.request({ method: "GET", url, transientBody: true })
      const hash = createHash("sha256")
      const memories = new Set<ArrayBufferLike>()
      let length = 0
      let pieces = 0
      // A consumer that is sometimes slower than the network, so that the socket pauses and reads pile up.
      yield* Stream.runForEach(response.body, (chunk) =>
        Effect.sync(() => {
          hash.update(chunk)
          memories.add(chunk.buffer)
          length += chunk.length
          pieces += 1
        }).pipe(Effect.zipLeft(pieces % 50 === 0 ? Effect.promise(() => new Promise((ok) => setTimeout(ok, 2))) : Effect.void)))
      expect(length).toBe(payload.length)
      expect(hash.digest("hex")).toBe(createHash("sha256").update(payload).digest("hex"))
      // 12 MiB went through a few MiB of memory, not a buffer per read.
      expect(memories.size).toBeLessThan(4)
    }))

  it.scoped("an error answer to a transient request keeps its body whole", () =>
    Effect.gen(function* () {
      const message = JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "x".repeat(200_000) }] })
      const port = yield* serve(http.createServer((_, res) => {
        res.writeHead(404, { "content-type": "application/json" })
        for (let at = 0; at < message.length; at += 1000) res.write(message.slice(at, at + 1000))
        res.end()
      }))
      const transport = yield* NodeHttpTransport.make(options)
      const url = new URL(`http://127.0.0.1:${port}/blob`)
      const response = yield* transport.request({ method: "GET", url, transientBody: true })
      expect(response.status).toBe(404)
      const body = yield* readBody(response, url, 1024 * 1024)
      expect(Buffer.from(body).toString("utf8")).toBe(message)
    }))

  it.scoped("over Node's TLS a transient request gets ordinary chunks (the ring slowed Node's TLS threefold)", () =>
    Effect.gen(function* () {
      const { ca, server } = yield* makeServerCertificates({ keyType: "ec-p256" })
      const body = payload.subarray(0, 2 * 1024 * 1024)
      const port = yield* serve(https.createServer({ cert: server.chainPem, key: server.keyPem }, (_, res) => {
        res.writeHead(200, { "content-length": String(body.length) })
        res.end(body)
      }))
      const transport = yield* NodeHttpTransport.make({ ...options, tls: { ca: ca.certPem } })
      const url = new URL(`https://127.0.0.1:${port}/blob`)
      const response = yield* transport.request({ method: "GET", url, transientBody: true })
      const memories = new Set<ArrayBufferLike>()
      const hash = createHash("sha256")
      yield* Stream.runForEach(response.body, (chunk) => Effect.sync(() => {
        memories.add(chunk.buffer)
        hash.update(chunk)
      }))
      expect(hash.digest("hex")).toBe(createHash("sha256").update(body).digest("hex"))
      expect(memories.size).toBeGreaterThan(16)
    }))
})
