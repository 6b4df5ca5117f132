import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Stream } from "effect"
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import * as NodeHttpTransport from "../../../src/services/HttpTransport/NodeHttpTransport.js"

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
})

