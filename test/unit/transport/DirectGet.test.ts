// The reader of transient bodies over plain TCP (DirectGet, behind NodeHttpTransport): what it sends, how it
// frames what servers answer (chunked, by length, until close, after interim responses), and how it fails on
// what no server should answer. The servers here write raw bytes, so that every framing can be shaped.
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Stream } from "effect"
import { createHash } from "node:crypto"
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { maxHeadBytes, readBytes } from "../../../src/services/HttpTransport/DirectGet.js"
import type { HttpRequest } from "../../../src/services/HttpTransport/HttpTransport.js"
import * as NodeHttpTransport from "../../../src/services/HttpTransport/NodeHttpTransport.js"
import { ringBytes } from "../../../src/services/HttpTransport/BodyRing.js"

const options = { connectTimeout: Duration.millis(400), idleTimeout: Duration.millis(400), maxSockets: 4 }

/** A loopback server for the length of the scope; its connections are dropped when it closes. */
const serve = (server: net.Server) =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      const open = new Set<net.Socket>()
      server.on("connection", (socket: net.Socket) => {
        open.add(socket)
        socket.on("close", () => open.delete(socket))
      })
      ;(server as net.Server & { open?: Set<net.Socket> }).open = open
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        for (const socket of (server as net.Server & { open?: Set<net.Socket> }).open ?? []) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )

/** A server that reads a request head, then answers with `answer` (raw bytes, written in the given pieces). */
const rawServer = (answer: (socket: net.Socket, request: string) => void) =>
  net.createServer((socket) => {
    let text = ""
    socket.on("data", (data) => {
      if (text.includes("\r\n\r\n")) return
      text += data.toString("latin1")
      if (text.includes("\r\n\r\n")) answer(socket, text)
    })
    socket.on("error", () => undefined)
  })

/** Writes `pieces` one per event-loop turn, so that the client reads them apart; then ends the socket. */
const writeApart = (socket: net.Socket, pieces: ReadonlyArray<string | Uint8Array>, end = true) => {
  let index = 0
  const next = () => {
    if (socket.destroyed) return
    if (index === pieces.length) return void (end && socket.end())
    socket.write(pieces[index++]!, () => setTimeout(next, 1))
  }
  next()
}

const transientGet = (port: number, extra: Partial<HttpRequest> = {}) =>
  Effect.gen(function* () {
    const transport = yield* NodeHttpTransport.make(options)
    const url = new URL(`http://127.0.0.1:${port}/v2/app/blobs/sha256:abc?x=1`)
    return yield* transport.request({ method: "GET", url, transientBody: true, ...extra })
  })

// Reads a body as a transient consumer may: each chunk is hashed (used) before the next pull.
const consume = <E>(body: Stream.Stream<Uint8Array, E>) =>
  Effect.gen(function* () {
    const hash = createHash("sha256")
    const copies: Array<Buffer> = []
    const memories = new Set<ArrayBufferLike>()
    yield* Stream.runForEach(body, (chunk) =>
      Effect.sync(() => {
        hash.update(chunk)
        copies.push(Buffer.from(chunk))
        memories.add(chunk.buffer)
      }))
    return { bytes: Buffer.concat(copies), digest: hash.digest("hex"), memories }
  })

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

const payload = Buffer.alloc(3 * 1024 * 1024 + 77)
for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24

describe("DirectGet (transient bodies over plain TCP)", () => {
  it.scoped("sends the request line with path and query, the caller's headers, Host and Connection: close", () =>
    Effect.gen(function* () {
      let seen = ""
      const port = yield* serve(rawServer((socket, request) => {
        seen = request
        socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
      }))
      const response = yield* transientGet(port, { headers: { Authorization: "Bearer t0k3n", Accept: "*/*" } })
      expect(Buffer.from((yield* consume(response.body)).bytes).toString()).toBe("ok")
      const lines = seen.split("\r\n")
      expect(lines[0]).toBe("GET /v2/app/blobs/sha256:abc?x=1 HTTP/1.1")
      expect(lines).toContain(`Host: 127.0.0.1:${port}`)
      expect(lines).toContain("Authorization: Bearer t0k3n")
      expect(lines).toContain("Accept: */*")
      expect(lines).toContain("Connection: close")
    }))

  // A request with `headers`, to a server that counts its connections: the error, and the count.
  const requestWith = (headers: Record<string, string>) =>
    Effect.gen(function* () {
      let connections = 0
      const server = rawServer(() => undefined)
      server.on("connection", () => connections++)
      const port = yield* serve(server)
      const error = yield* Effect.flip(transientGet(port, { headers }))
      return { error, connections }
    })

  it.scoped("refuses a header value with a line break before connecting (no request smuggled in)", () =>
    Effect.gen(function* () {
      const { error, connections } = yield* requestWith({ Authorization: "Bearer x\r\nX-Evil: 1" })
      expect(error._tag).toBe("ConnectionError")
      expect(error._tag === "ConnectionError" && error.code).toBe("ERR_INVALID_CHAR")
      expect(connections).toBe(0)
    }))

  it.scoped("refuses a header name that is not a token before connecting", () =>
    Effect.gen(function* () {
      const { error, connections } = yield* requestWith({ "X-Evil: 1\r\nAuthorization": "x" })
      expect(error).toMatchObject({ _tag: "ConnectionError", code: "ERR_INVALID_CHAR" })
      expect(connections).toBe(0)
    }))

  it.scoped("a chunked body from node:http arrives whole, in views of a few buffers", () =>
    Effect.gen(function* () {
      const port = yield* serve(http.createServer((_, res) => {
        // No Content-Length: node:http frames it chunked, one chunk per write of 1000 to 9000 bytes.
        let at = 0
        let size = 1000
        const more = () => {
          while (at < payload.length) {
            const ok = res.write(payload.subarray(at, at + size))
            at += size
            size = 1000 + ((size * 7) % 8000)
            if (!ok) return void res.once("drain", more)
          }
          res.end()
        }
        more()
      }))
      const response = yield* transientGet(port)
      expect(response.status).toBe(200)
      expect(response.headers["transfer-encoding"]).toBe("chunked")
      const { digest, memories } = yield* consume(response.body)
      expect(digest).toBe(sha256(payload))
      expect(memories.size).toBeLessThan(3)
    }))

  it.scoped("chunk sizes, extensions, data and trailers split across reads at every byte", () =>
    Effect.gen(function* () {
      const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;name=value\r\nhello\r\n1A\r\n, a chunk of 26 bytes ....\r\n0\r\nDigest: x\r\n\r\n"
      const port = yield* serve(rawServer((socket) => writeApart(socket, [...wire], false)))
      const response = yield* transientGet(port)
      expect(Buffer.from((yield* consume(response.body)).bytes).toString()).toBe("hello, a chunk of 26 bytes ....")
    }))

  it.scoped("bytes past the announced length are not body", () =>
    Effect.gen(function* () {
      const port = yield* serve(rawServer((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n")))
      const response = yield* transientGet(port)
      expect(Buffer.from((yield* consume(response.body)).bytes).toString()).toBe("hello")
    }))

  it.scoped("a body without length or chunking runs until the server closes", () =>
    Effect.gen(function* () {
      const port = yield* serve(rawServer((socket) => writeApart(socket, ["HTTP/1.0 200 OK\r\n\r\n", payload.subarray(0, 100_000), payload.subarray(100_000, 300_000)])))
      const response = yield* transientGet(port)
      expect((yield* consume(response.body)).digest).toBe(sha256(payload.subarray(0, 300_000)))
    }))

  it.scoped("interim responses (103, 100) are skipped, the head and body after them are the answer", () =>
    Effect.gen(function* () {
      const port = yield* serve(rawServer((socket) =>
        writeApart(socket, [
          "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n",
          "Content-Length: 5\r\nDocker-Content-Digest: sha256:1\r\n\r\nhel",
          "lo"
        ])))
      const response = yield* transientGet(port)
      expect(response.status).toBe(200)
      expect(response.headers["docker-content-digest"]).toBe("sha256:1")
      expect(response.headers["link"]).toBeUndefined()
      expect(Buffer.from((yield* consume(response.body)).bytes).toString()).toBe("hello")
    }))

  it.scoped("a 204 has no body even when the server says a length; a redirect comes back with its Location", () =>
    Effect.gen(function* () {
      const port = yield* serve(rawServer((socket, request) =>
        socket.end(request.includes("redirect")
          ? "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere/blob\r\nContent-Length: 0\r\n\r\n"
          : "HTTP/1.1 204 No Content\r\n\r\n")))
      const empty = yield* transientGet(port)
      expect(empty.status).toBe(204)
      expect((yield* consume(empty.body)).bytes.length).toBe(0)
      const transport = yield* NodeHttpTransport.make(options)
      const moved = yield* transport.request({ method: "GET", url: new URL(`http://127.0.0.1:${port}/redirect`), transientBody: true })
      expect(moved.status).toBe(307)
      expect(moved.headers["location"]).toBe("http://elsewhere/blob")
    }))

  const malformed: ReadonlyArray<readonly [string, string | Uint8Array]> = [
    ["a status line that is not HTTP/1.x", "HTTP/2 200\r\n\r\n"],
    ["a header line without a colon", "HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\nhello"],
    ["a folded header line", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n"],
    ["two different lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"],
    ["a length that is not a number", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"],
    ["a head longer than the limit", `HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(maxHeadBytes)}\r\n\r\n`]
  ]
  for (const [name, answer] of malformed) {
    it.scoped(`a response with ${name} fails with ConnectionError MalformedResponse`, () =>
      Effect.gen(function* () {
        const port = yield* serve(rawServer((socket) => socket.end(answer)))
        const error = yield* Effect.flip(Effect.flatMap(transientGet(port), (r) => consume(r.body)))
        expect(error._tag).toBe("ConnectionError")
        expect((error as { code: string }).code).toBe("MalformedResponse")
      }))
  }

  it.scoped("a chunk size that is not hexadecimal fails the body stream with MalformedResponse", () =>
    Effect.gen(function* () {
      const port = yield* serve(rawServer((socket) =>
        socket.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")))
      const response = yield* transientGet(port)
      const error = yield* Effect.flip(consume(response.body))
      expect(error).toMatchObject({ _tag: "ConnectionError", code: "MalformedResponse" })
    }))

  it.scoped("a chunk-size line or a trailer section past its limit fails the body stream with MalformedResponse", () =>
    Effect.gen(function* () {
      for (const rest of [`5;ext=${"x".repeat(5000)}\r\nhello\r\n0\r\n\r\n`, `0\r\n${"X-T: t\r\n".repeat(10_000)}\r\n`]) {
        const port = yield* serve(rawServer((socket) => socket.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${rest}`)))
        const response = yield* transientGet(port)
        expect(yield* Effect.flip(consume(response.body))).toMatchObject({ code: "MalformedResponse" })
      }
    }))

  it.scoped("a chunk longer than its size fails the body stream with MalformedResponse", () =>
    Effect.gen(function* () {
      const port = yield* serve(rawServer((socket) =>
        socket.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello world\r\n0\r\n\r\n")))
      const response = yield* transientGet(port)
      expect(yield* Effect.flip(consume(response.body))).toMatchObject({ code: "MalformedResponse" })
    }))

  it.scoped("a connection cut before the announced length or the last chunk fails with ConnectionError", () =>
    Effect.gen(function* () {
      for (const head of ["Content-Length: 100", "Transfer-Encoding: chunked"]) {
        const body = head.startsWith("Content") ? "x".repeat(10) : "a\r\n0123456789\r\n"
        const port = yield* serve(rawServer((socket) => socket.end(`HTTP/1.1 200 OK\r\n${head}\r\n\r\n${body}`)))
        const response = yield* transientGet(port)
        const error = yield* Effect.flip(consume(response.body))
        expect(error).toMatchObject({ _tag: "ConnectionError", code: "ECONNRESET" })
      }
    }))

  it.scoped("a server that closes without answering fails the request with ConnectionError", () =>
    Effect.gen(function* () {
      const port = yield* serve(rawServer((socket) => socket.end()))
      expect(yield* Effect.flip(transientGet(port))).toMatchObject({ _tag: "ConnectionError", code: "ECONNRESET" })
    }))

  it.scoped("silence before the head or mid-body is an idle TimeoutError; a refused port is ECONNREFUSED", () =>
    Effect.gen(function* () {
      const silent = yield* serve(rawServer(() => undefined))
      expect(yield* Effect.flip(transientGet(silent))).toMatchObject({ _tag: "TimeoutError", phase: "idle" })
      const stalls = yield* serve(rawServer((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxx")))
      const response = yield* transientGet(stalls)
      expect(yield* Effect.flip(consume(response.body))).toMatchObject({ _tag: "TimeoutError", phase: "idle" })
      const unused = yield* Effect.async<number>((resume) => {
        const probe = net.createServer()
        probe.listen(0, "127.0.0.1", () => {
          const port = (probe.address() as AddressInfo).port
          probe.close(() => resume(Effect.succeed(port)))
        })
      })
      expect(yield* Effect.flip(transientGet(unused))).toMatchObject({ _tag: "ConnectionError", code: "ECONNREFUSED" })
    }))

  // Live: the consumer really sleeps (the test clock would hold it forever).
  it.scopedLive("a consumer slower than the idle timeout does not time out: the socket waits for it, its memory bounded", () =>
    Effect.gen(function* () {
      const big = Buffer.concat([payload, payload, payload]) // 9 MiB: more than the ring holds
      const port = yield* serve(rawServer((socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`)
        socket.end(big)
      }))
      const response = yield* transientGet(port)
      const hash = createHash("sha256")
      const memories = new Set<ArrayBufferLike>()
      let pulls = 0
      yield* Stream.runForEachChunk(response.body, (chunks) =>
        Effect.sync(() => {
          for (const chunk of chunks) {
            hash.update(chunk)
            memories.add(chunk.buffer)
          }
        }).pipe(Effect.zipLeft(pulls++ === 1 ? Effect.sleep(Duration.millis(700)) : Effect.void)))
      expect(hash.digest("hex")).toBe(sha256(big))
      expect(memories.size).toBe(1)
      expect(readBytes).toBeLessThan(ringBytes / 8)
    }))

  it.scoped("the chunks of an error answer are the caller's to keep (copied out of the ring)", () =>
    Effect.gen(function* () {
      const message = "e".repeat(300_000)
      const port = yield* serve(rawServer((socket) =>
        writeApart(socket, [`HTTP/1.1 404 Not Found\r\nContent-Length: ${message.length}\r\n\r\n`, message.slice(0, 150_000), message.slice(150_000)])))
      const response = yield* transientGet(port)
      expect(response.status).toBe(404)
      const chunks = Chunk.toArray(yield* Stream.runCollect(response.body))
      expect(Buffer.concat(chunks).toString()).toBe(message)
      expect(chunks.every((chunk) => chunk.buffer.byteLength !== ringBytes)).toBe(true)
    }))
})
