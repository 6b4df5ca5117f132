/**
 * The seam between the registry API and the wire: one request in, a status, headers and a byte stream out.
 * The registry API never knows whether the bytes travel over plain TCP, Node's TLS or the RA-TLS engine;
 * each of those is a Layer of this service (see NodeHttpTransport.ts).
 */
import { Context, Data, Effect, Stream } from "effect"
import type { Scope } from "effect"

export interface HttpRequest {
  readonly method: "GET" | "HEAD"
  readonly url: URL
  readonly headers?: Readonly<Record<string, string>>
  /**
   * The caller is done with each body chunk when it pulls the next one, and keeps no reference to it (it
   * copies what it keeps): the transport may then reuse a chunk's memory after the next pull. A permission,
   * not a request: a transport may ignore it. Default false (chunks are the caller's to keep).
   */
  readonly transientBody?: boolean
}

export interface HttpResponse {
  readonly status: number
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** The body as it arrives; fails with a transport error when the connection breaks mid-body. */
  readonly body: Stream.Stream<Uint8Array, TransportError>
}

/** The TCP connection could not be made or broke (refused, reset, closed early, unreachable). */
export class ConnectionError extends Data.TaggedError("ConnectionError")<{
  readonly host: string
  readonly code: string
  readonly reason: string
}> {
  override get message(): string {
    return `connection to ${this.host} failed: ${this.reason}${this.code !== "" ? ` (${this.code})` : ""}`
  }
}

/** Nothing happened for too long: `connect` covers TCP and TLS set-up, `idle` any silence afterwards. */
export class TimeoutError extends Data.TaggedError("TimeoutError")<{
  readonly host: string
  readonly phase: "connect" | "idle"
  readonly millis: number
}> {
  override get message(): string {
    return this.phase === "connect"
      ? `connecting to ${this.host} timed out after ${this.millis} ms`
      : `${this.host} sent nothing for ${this.millis} ms`
  }
}

/** The TLS handshake failed or the server's certificate was not acceptable. */
export class TlsError extends Data.TaggedError("TlsError")<{
  readonly host: string
  readonly code: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `TLS with ${this.host} failed: ${this.reason}${this.code !== "" ? ` (${this.code})` : ""}`
  }
}

/** A body was larger than the caller allowed before it was read whole. */
export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{
  readonly url: string
  readonly limit: number
}> {
  override get message(): string {
    return `response body of ${this.url} exceeds ${this.limit} bytes`
  }
}

export type TransportError = ConnectionError | TimeoutError | TlsError

export class HttpTransport extends Context.Tag("oci-ratls-client/HttpTransport")<
  HttpTransport,
  {
    /**
     * Sends one request. The response lives in the Scope: closing it before the body was read releases the
     * connection (it is then not reused).
     */
    readonly request: (request: HttpRequest) => Effect.Effect<HttpResponse, TransportError, Scope.Scope>
  }
>() {}

/** Reads a whole body, failing as soon as it grows beyond `limit` bytes. */
export const readBody = (
  response: HttpResponse,
  url: URL,
  limit: number
): Effect.Effect<Uint8Array, TransportError | BodyTooLarge> =>
  response.body.pipe(
    Stream.runFoldEffect({ size: 0, chunks: [] as Array<Uint8Array> }, (acc, chunk) => {
      acc.size += chunk.length
      if (acc.size > limit) return Effect.fail(new BodyTooLarge({ url: url.href, limit }))
      acc.chunks.push(chunk)
      return Effect.succeed(acc)
    }),
    Effect.map((acc) => Buffer.concat(acc.chunks))
  )
