// One HTTP exchange over plain node:http / node:https, trusting an optional CA, as an Effect.
// The fixture talks to the registry through this deliberately naive client (no retries, no pooling),
// and tests use it to see exactly what went over the wire, broken responses included.
import { Data, Effect } from "effect"
import type { IncomingHttpHeaders } from "node:http"
import * as http from "node:http"
import * as https from "node:https"
import type { Readable } from "node:stream"

export interface RawResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export interface RawRequest {
  readonly method?: string
  readonly headers?: Readonly<Record<string, string | number>>
  /** A buffer, or a function opening a stream (called once, when the request is sent). */
  readonly body?: Uint8Array | (() => Readable)
  readonly caPem?: string
  readonly timeoutMs?: number
}

/** The exchange broke below HTTP: connection refused or reset, TLS failure, timeout, or a body cut short. */
export class HttpTransportError extends Data.TaggedError("HttpTransportError")<{
  readonly method: string
  readonly url: string
  readonly reason: string
  /** Status and body bytes already received when a response broke off mid-body. */
  readonly status?: number
  readonly bodyBytesReceived?: number
  readonly code?: string
}> {
  override get message(): string {
    const partial = this.status === undefined
      ? ""
      : ` (status ${this.status}, ${this.bodyBytesReceived ?? 0} body bytes received)`
    return `${this.method} ${this.url}: ${this.reason}${partial}`
  }
}

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

export const request = (
  url: string | URL,
  options: RawRequest = {}
): Effect.Effect<RawResponse, HttpTransportError> => {
  const target = new URL(url)
  const method = options.method ?? "GET"
  return Effect.async<RawResponse, HttpTransportError>((resume) => {
    let status: number | undefined
    let received = 0
    let settled = false
    const fail = (reason: string, cause?: unknown) => {
      if (settled) return
      settled = true
      const code = errorCode(cause)
      resume(Effect.fail(
        new HttpTransportError({
          method,
          url: target.href,
          reason,
          ...(status === undefined ? {} : { status, bodyBytesReceived: received }),
          ...(code === undefined ? {} : { code })
        })
      ))
    }
    const send = target.protocol === "https:" ? https.request : http.request
    const req = send(target, {
      method,
      headers: { ...options.headers },
      agent: false,
      ...(options.caPem === undefined ? {} : { ca: options.caPem }),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs })
    }, (res) => {
      status = res.statusCode ?? 0
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => {
        received += chunk.length
        chunks.push(chunk)
      })
      res.on("error", (e) => fail(errorText(e), e))
      res.on("close", () => {
        if (!res.complete) return fail("response body ended early")
        if (settled) return
        settled = true
        resume(Effect.succeed({ status: status ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      })
    })
    req.on("timeout", () => req.destroy(new Error(`no activity for ${options.timeoutMs} ms`)))
    req.on("error", (e) => fail(errorText(e), e))
    const body = options.body
    if (body === undefined) req.end()
    else if (body instanceof Uint8Array) req.end(body)
    else {
      const stream = body()
      stream.on("error", (e) => req.destroy(e))
      stream.pipe(req)
    }
    return Effect.sync(() => req.destroy())
  })
}

/** The value of a response header, joined when repeated. */
export const header = (response: RawResponse, name: string): string | undefined => {
  const value = response.headers[name.toLowerCase()]
  return Array.isArray(value) ? value.join(", ") : value
}
