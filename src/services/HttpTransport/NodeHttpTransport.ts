/**
 * HttpTransport on `node:http`: one keep-alive Agent per transport, whose sockets come from plain TCP,
 * Node's TLS, or any `createConnection` (the RA-TLS engine plugs in there). Node's error codes are sorted
 * into connection, timeout and TLS failures here, so callers can tell a wrong CA from a refused port.
 */
import { Chunk, Duration, Effect, Layer, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import * as tls from "node:tls"
import type { ResolvedConfig } from "../../domain/Config.js"
import { BodyRing, SpareRings } from "./BodyRing.js"
import * as DirectGet from "./DirectGet.js"
import {
  ConnectionError,
  HttpTransport,
  TimeoutError,
  TlsError,
  type HttpRequest,
  type HttpResponse,
  type TransportError
} from "./HttpTransport.js"

export interface NodeTransportOptions {
  readonly connectTimeout: Duration.Duration
  readonly idleTimeout: Duration.Duration
  readonly maxSockets: number
  /** TLS options for https origins (roots, client certificates, ...). */
  readonly tls?: tls.ConnectionOptions
  /**
   * Replaces the socket factory for https origins. The socket must emit `secureConnect` once usable, and
   * fail with an `Error` (whose `code`, when set, classifies it) otherwise.
   */
  readonly createSecureConnection?: (options: https.RequestOptions & { host: string; port: number; servername?: string }) => net.Socket
}

const tlsCodes = new Set([
  "EPROTO",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH"
])

const isTlsFailure = (code: string, error: unknown): boolean =>
  tlsCodes.has(code) ||
  code.startsWith("ERR_SSL_") ||
  code.startsWith("ERR_TLS_") ||
  (typeof error === "object" && error !== null && "_tag" in error && (error as { tls?: unknown }).tls === true)

/** Sorts whatever Node (or a custom socket) reported into one of the transport's error tags. */
export const classifyError = (host: string, error: unknown): TransportError => {
  if (error instanceof ConnectionError || error instanceof TimeoutError || error instanceof TlsError) return error
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : ""
  const reason = error instanceof Error ? error.message : String(error)
  if (isTlsFailure(code, error)) return new TlsError({ host, code, reason, cause: error })
  return new ConnectionError({ host, code, reason })
}

// At most this many body bytes wait for the consumer; the socket is paused meanwhile.
const bodyBufferBytes = 1024 * 1024

/**
 * A response body as a Stream whose every pull takes all the socket reads buffered since the previous one,
 * as one Chunk of those buffers (nothing copied, unless `spares` are given for a transient body: then each
 * read is copied at once into a BodyRing that the next pull may reuse). When the consumer is busy, one pull
 * carries many reads, so each stage downstream (hashing, counting, progress) steps once per pull rather than
 * once per 64 KiB.
 * The stream fails with `failed(error)` on a response error; it ends when the response ends or closes.
 */
const bodyOf = (
  res: http.IncomingMessage,
  failed: (error: unknown) => TransportError,
  spares: SpareRings | undefined
): Stream.Stream<Uint8Array, TransportError> =>
  Stream.suspend(() => {
    const ring = spares === undefined ? undefined : new BodyRing(spares)
    let buffered: Array<Uint8Array> = []
    let bytes = 0
    let done = false
    let failure: TransportError | undefined
    let wake: (() => void) | undefined
    const notify = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const onData = (chunk: Uint8Array) => {
      buffered.push(ring === undefined ? chunk : ring.copy(chunk))
      bytes += chunk.length
      if (bytes >= bodyBufferBytes) res.pause()
      notify()
    }
    const onEnd = () => {
      done = true
      notify()
    }
    const onError = (error: unknown) => {
      failure ??= failed(error)
      notify()
    }
    res.on("data", onData)
    res.on("end", onEnd)
    res.on("close", onEnd)
    res.on("error", onError)
    const take = Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<TransportError>>((resume) => {
      const check = () => {
        if (buffered.length > 0) {
          const taken = buffered
          buffered = []
          bytes = 0
          if (!done && res.isPaused()) res.resume()
          ring?.pulled()
          resume(Effect.succeed(Chunk.unsafeFromArray(taken)))
        } else if (failure !== undefined) {
          resume(Effect.fail(Option.some(failure)))
        } else if (done) {
          resume(Effect.fail(Option.none()))
        } else {
          wake = check
        }
      }
      check()
      return Effect.sync(() => {
        wake = undefined
      })
    })
    const detach = Effect.sync(() => {
      res.off("data", onData)
      res.off("end", onEnd)
      res.off("close", onEnd)
      res.off("error", onError)
      res.on("error", () => undefined)
      if (!res.complete) res.destroy()
      ring?.close()
    })
    return Stream.repeatEffectChunkOption(take).pipe(Stream.ensuring(detach))
  })

const flattenHeaders = (raw: http.IncomingHttpHeaders): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return headers
}

export const make = (options: NodeTransportOptions): Effect.Effect<HttpTransport["Type"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const connectMillis = Duration.toMillis(options.connectTimeout)
    const idleMillis = Duration.toMillis(options.idleTimeout)
    const agents = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const httpAgent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets })
        const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: options.maxSockets, ...options.tls })
        if (options.createSecureConnection !== undefined) {
          const create = options.createSecureConnection
          ;(httpsAgent as unknown as { createConnection: typeof create }).createConnection = (o) => create(o)
        }
        return { httpAgent, httpsAgent }
      }),
      ({ httpAgent, httpsAgent }) =>
        Effect.sync(() => {
          httpAgent.destroy()
          httpsAgent.destroy()
        })
    )

    // The memory of transient bodies, kept for the next one while the transport lives.
    const spares = yield* Effect.acquireRelease(Effect.sync(() => new SpareRings()), (rings) => Effect.sync(() => rings.clear()))

    // Sockets whose set-up finished; a keep-alive socket handed out again needs no connect timer.
    const established = new WeakSet<net.Socket>()

    const direct = { connectMillis, idleMillis, spares, classify: classifyError }

    const request = (req: HttpRequest): Effect.Effect<HttpResponse, TransportError, Scope.Scope> => {
      const host = req.url.host
      const secure = req.url.protocol === "https:"
      // A blob over plain TCP: read straight into reused memory, past node:http (see DirectGet).
      if (!secure && req.transientBody === true) return DirectGet.request(req, direct)
      // A failure that we caused ourselves (a timeout) wins over the generic error Node reports after destroy().
      let failure: TransportError | undefined
      const acquire = Effect.async<{ res: http.IncomingMessage; req: http.ClientRequest }, TransportError>((resume) => {
        const clientRequest = (secure ? https : http).request(req.url, {
          method: req.method,
          headers: req.headers ?? {},
          agent: secure ? agents.httpsAgent : agents.httpAgent,
          timeout: idleMillis
        })
        clientRequest.on("socket", (socket: net.Socket) => {
          if (established.has(socket)) return
          const timer = setTimeout(() => {
            failure = new TimeoutError({ host, phase: "connect", millis: connectMillis })
            clientRequest.destroy(failure)
          }, connectMillis)
          const clear = () => clearTimeout(timer)
          socket.once(secure ? "secureConnect" : "connect", () => {
            established.add(socket)
            clear()
          })
          socket.once("close", clear)
          socket.once("error", clear)
        })
        clientRequest.on("timeout", () => {
          failure = new TimeoutError({ host, phase: "idle", millis: idleMillis })
          clientRequest.destroy(failure)
        })
        clientRequest.on("error", (error) => resume(Effect.fail(failure ?? classifyError(host, error))))
        clientRequest.on("response", (res) => resume(Effect.succeed({ res, req: clientRequest })))
        clientRequest.end()
        return Effect.sync(() => clientRequest.destroy())
      })

      return Effect.acquireRelease(acquire, ({ res, req: clientRequest }) =>
        Effect.sync(() => {
          if (!res.complete) {
            res.destroy()
            clientRequest.destroy()
          }
        })
      ).pipe(
        Effect.map(({ res }): HttpResponse => {
          // Only a success body is ever transient: error bodies are read whole (readBody keeps every chunk).
          // Over Node's own TLS the ring is not used: measured on a 256 MiB blob, Node's TLS socket then took
          // three times the CPU (more copying and allocating inside its TLS buffers, cause not found), while
          // plain TCP and the RA-TLS engine got faster.
          const status = res.statusCode ?? 0
          const ringable = !secure || options.createSecureConnection !== undefined
          const transient = req.transientBody === true && ringable && status >= 200 && status < 300
          const body = bodyOf(res, (error) => failure ?? classifyError(host, error), transient ? spares : undefined).pipe(
            Stream.concat(
              Stream.suspend(() =>
                res.complete
                  ? Stream.empty
                  : Stream.fail(
                      failure ?? new ConnectionError({ host, code: "ECONNRESET", reason: "the connection closed before the response ended" })
                    )
              )
            )
          )
          return { status, headers: flattenHeaders(res.headers), body }
        })
      )
    }

    return { request }
  })

/** Plain HTTP, or TLS as the config says; for the RA-TLS mode see its own Layer. */
export const layer = (config: ResolvedConfig): Layer.Layer<HttpTransport> =>
  Layer.scoped(HttpTransport, make(optionsFor(config)))

export const optionsFor = (config: ResolvedConfig): NodeTransportOptions => {
  const base = {
    connectTimeout: config.timeouts.connect,
    idleTimeout: config.timeouts.idle,
    maxSockets: config.maxSockets
  }
  switch (config.mode._tag) {
    case "NoTls":
      return base
    case "Tls":
      return {
        ...base,
        tls: {
          ca: config.mode.rootCertificates.map((pem) => (typeof pem === "string" ? pem : Buffer.from(pem))),
          minVersion: "TLSv1.2"
        }
      }
    case "CustomTls":
      return { ...base, tls: config.mode.options }
    case "RaTls":
      // Timeouts and pool size only: RaTlsHttpTransport adds the socket factory of the RA-TLS engine.
      return base
  }
}
