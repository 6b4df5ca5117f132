/**
 * An in-memory HttpTransport for unit tests: a function from request to canned response, recording every
 * request so tests can assert on what the client asked for.
 */
import { Effect, Layer, Stream } from "effect"
import { HttpTransport, type HttpRequest } from "../../../src/services/HttpTransport/HttpTransport.js"

export interface CannedResponse {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: Uint8Array | string
  /** Split the body into chunks of this size (default: one chunk). */
  readonly chunkSize?: number
}

export const memoryTransport = (handler: (request: HttpRequest) => CannedResponse) => {
  const requests: Array<HttpRequest> = []
  const layer = Layer.succeed(HttpTransport, {
    request: (request) =>
      Effect.sync(() => {
        requests.push(request)
        const canned = handler(request)
        const body = typeof canned.body === "string" ? Buffer.from(canned.body) : canned.body ?? new Uint8Array()
        const size = canned.chunkSize ?? Math.max(body.length, 1)
        const chunks: Array<Uint8Array> = []
        for (let offset = 0; offset < body.length; offset += size) chunks.push(body.subarray(offset, offset + size))
        return {
          status: canned.status,
          headers: canned.headers ?? {},
          body: Stream.fromIterable(chunks)
        }
      })
  })
  return { layer, requests }
}

export const json = (value: unknown) => Buffer.from(JSON.stringify(value))
