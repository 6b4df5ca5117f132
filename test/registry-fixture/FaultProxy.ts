// A loopback HTTP(S) proxy in front of a registry that breaks chosen responses on purpose: flipped
// bytes, short bodies, reset connections, stalls, forged statuses and lying headers. Rules match by
// method and path and can change while it runs; every request is logged for assertions.
import { Data, Effect, type Scope } from "effect"
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http"
import * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo, Socket } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"

export type Fault =
  /** XOR the body byte at `offset` with 0xff. */
  | { readonly _tag: "Corrupt"; readonly offset: number }
  /** Send the first `bytes` body bytes, then close the connection cleanly (FIN). */
  | { readonly _tag: "Truncate"; readonly bytes: number }
  /** Send the first `afterBytes` body bytes, then reset the connection (RST). */
  | { readonly _tag: "Cut"; readonly afterBytes: number }
  /** Wait `ms` before forwarding the request, or before body byte `afterBytes` when given. */
  | { readonly _tag: "Delay"; readonly ms: number; readonly afterBytes?: number }
  /** Answer with this status, body and headers instead of asking the registry. */
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly body?: string | Uint8Array
    readonly headers?: Readonly<Record<string, string>>
  }
  /** Set a response header to `value`, or remove it when `value` is undefined. */
  | { readonly _tag: "Header"; readonly name: string; readonly value?: string }

export const Fault = {
  corrupt: (offset: number): Fault => ({ _tag: "Corrupt", offset }),
  truncate: (bytes: number): Fault => ({ _tag: "Truncate", bytes }),
  cut: (afterBytes: number): Fault => ({ _tag: "Cut", afterBytes }),
  delay: (ms: number, afterBytes?: number): Fault =>
    afterBytes === undefined ? { _tag: "Delay", ms } : { _tag: "Delay", ms, afterBytes },
  status: (status: number, body?: string | Uint8Array, headers?: Readonly<Record<string, string>>): Fault => ({
    _tag: "Status",
    status,
    ...(body === undefined ? {} : { body }),
    ...(headers === undefined ? {} : { headers })
  }),
  header: (name: string, value?: string): Fault =>
    value === undefined ? { _tag: "Header", name } : { _tag: "Header", name, value }
} as const

export interface FaultRule {
  /** Any method when absent. */
  readonly method?: string
  /** Searched for in the request target, path and query (`/v2/x/blobs/sha256:…?…`). */
  readonly path: RegExp
  readonly fault: Fault
  /** Applies to the first `times` matching requests only. */
  readonly times?: number
}

export interface SeenRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
}

export interface FaultProxy {
  readonly host: string
  readonly url: string
  /** The CA a client must trust when the proxy itself speaks TLS. */
  readonly caPem?: string
  /** Replaces all rules. Every matching rule applies, in order. */
  readonly setRules: (rules: ReadonlyArray<FaultRule>) => void
  readonly addRule: (rule: FaultRule) => void
  readonly clearRules: () => void
  /** Requests received so far, oldest first. */
  readonly requests: () => ReadonlyArray<SeenRequest>
}

export interface FaultProxyOptions {
  /** Serve HTTPS with this certificate instead of plain HTTP. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string; readonly caPem: string }
}

export interface Upstream {
  readonly url: string
  readonly caPem?: string
}

export class FaultProxyStartFailed extends Data.TaggedError("FaultProxyStartFailed")<{ readonly reason: string }> {
  override get message(): string {
    return `the fault proxy did not start: ${this.reason}`
  }
}

interface ActiveRule {
  readonly rule: FaultRule
  remaining: number
}

const hopByHop = ["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"]

// Resolves once the bytes are handed to the socket, so a reset that follows cannot overtake them.
const written = (res: ServerResponse, chunk: Uint8Array) =>
  new Promise<void>((resolve, reject) => {
    if (chunk.byteLength === 0) return resolve()
    res.write(chunk, (e) => (e ? reject(e) : resolve()))
  })

const breakOff = (socket: Socket, reset: boolean) => {
  if (reset) socket.resetAndDestroy()
  else socket.end()
}

/** Forwards the upstream body through the body faults; returns once the response ended or broke off. */
const relayBody = async (
  body: IncomingMessage,
  res: ServerResponse,
  socket: Socket,
  faults: ReadonlyArray<Fault>,
  signal: AbortSignal
): Promise<void> => {
  const corruptAt = faults.flatMap((f) => (f._tag === "Corrupt" ? [f.offset] : []))
  const delays = faults.flatMap((f) => (f._tag === "Delay" && f.afterBytes !== undefined ? [f] : []))
  const stops = faults.flatMap((f) =>
    f._tag === "Truncate" ? [{ at: f.bytes, reset: false }] : f._tag === "Cut" ? [{ at: f.afterBytes, reset: true }] : []
  ).sort((a, b) => a.at - b.at)
  const stop = stops[0]
  // Offsets where something happens split the stream, so each action sees exactly its byte position.
  const marks = [...new Set([...delays.map((d) => d.afterBytes ?? 0), ...(stop === undefined ? [] : [stop.at])])]
    .sort((a, b) => a - b)
  let offset = 0
  for await (const raw of body as AsyncIterable<Buffer>) {
    let chunk = Buffer.from(raw)
    for (const at of corruptAt) {
      if (at >= offset && at < offset + chunk.length) chunk[at - offset] = chunk[at - offset]! ^ 0xff
    }
    while (chunk.length > 0) {
      const next = marks[0] !== undefined && marks[0] < offset + chunk.length ? marks[0] : undefined
      const piece = next === undefined ? chunk : chunk.subarray(0, next - offset)
      await written(res, piece)
      offset += piece.length
      chunk = chunk.subarray(piece.length)
      if (next === undefined) continue
      marks.shift()
      for (const d of delays) if (d.afterBytes === offset) await sleep(d.ms, undefined, { signal })
      if (stop !== undefined && stop.at === offset) {
        body.destroy()
        return breakOff(socket, stop.reset)
      }
    }
  }
  if (stop !== undefined && stop.at === offset) return breakOff(socket, stop.reset)
  res.end()
}

/** Starts a proxy to `upstream` (a registry or anything with a url) that lives until the Scope closes. */
export const startFaultProxy = (
  upstream: Upstream,
  options: FaultProxyOptions = {}
): Effect.Effect<FaultProxy, FaultProxyStartFailed, Scope.Scope> =>
  Effect.gen(function*() {
    let rules: Array<ActiveRule> = []
    const seen: Array<SeenRequest> = []
    const abort = new AbortController()
    const upstreamUrl = new URL(upstream.url)
    const scheme = options.tls === undefined ? "http" : "https"

    const faultsFor = (req: IncomingMessage): ReadonlyArray<Fault> => {
      const method = req.method ?? "GET"
      const target = req.url ?? "/"
      const matched = rules.filter(({ rule, remaining }) =>
        remaining > 0 && (rule.method === undefined || rule.method.toUpperCase() === method) && target.search(rule.path) >= 0
      )
      for (const active of matched) active.remaining -= 1
      return matched.map(({ rule }) => rule.fault)
    }

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      seen.push({ method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers })
      const faults = faultsFor(req)
      const forged = faults.find((f) => f._tag === "Status")
      if (forged !== undefined) {
        req.resume()
        const body = forged.body ?? ""
        res.writeHead(forged.status, {
          "content-length": Buffer.byteLength(body),
          connection: "close",
          ...forged.headers
        })
        res.end(body)
        return
      }
      for (const f of faults) if (f._tag === "Delay" && f.afterBytes === undefined) await sleep(f.ms, undefined, { signal: abort.signal })
      const send = upstreamUrl.protocol === "https:" ? https.request : http.request
      const outgoing = send(new URL(req.url ?? "/", upstreamUrl), {
        method: req.method ?? "GET",
        headers: { ...req.headers, "x-forwarded-proto": scheme },
        agent: false,
        signal: abort.signal,
        ...(upstream.caPem === undefined ? {} : { ca: upstream.caPem })
      })
      req.pipe(outgoing)
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        outgoing.once("response", resolve)
        outgoing.once("error", reject)
      })
      const headers: OutgoingHttpHeaders = { ...response.headers }
      for (const name of hopByHop) delete headers[name]
      for (const f of faults) {
        if (f._tag !== "Header") continue
        if (f.value === undefined) delete headers[f.name.toLowerCase()]
        else headers[f.name.toLowerCase()] = f.value
      }
      // A response that was tampered with must not leave a half-read connection behind for reuse.
      if (faults.length > 0) headers["connection"] = "close"
      res.writeHead(response.statusCode ?? 502, headers)
      await relayBody(response, res, req.socket, faults, abort.signal)
    }

    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) {
          res.writeHead(502, { "content-type": "text/plain", connection: "close" })
          res.end(`fault proxy: ${e instanceof Error ? e.message : String(e)}`)
        } else {
          req.socket.destroy()
        }
      })
    }

    const server = options.tls === undefined
      ? http.createServer(onRequest)
      : https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, onRequest)

    const port = yield* Effect.acquireRelease(
      Effect.async<number, FaultProxyStartFailed>((resume) => {
        server.once("error", (e) => resume(Effect.fail(new FaultProxyStartFailed({ reason: e.message }))))
        server.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.succeed((server.address() as AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          abort.abort()
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )

    const proxy: FaultProxy = {
      host: `127.0.0.1:${port}`,
      url: `${scheme}://127.0.0.1:${port}`,
      ...(options.tls === undefined ? {} : { caPem: options.tls.caPem }),
      setRules: (next) => {
        rules = next.map((rule) => ({ rule, remaining: rule.times ?? Infinity }))
      },
      addRule: (rule) => {
        rules.push({ rule, remaining: rule.times ?? Infinity })
      },
      clearRules: () => {
        rules = []
      },
      requests: () => [...seen]
    }
    return proxy
  }).pipe(Effect.withSpan("FaultProxy.start"))
