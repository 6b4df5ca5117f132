/**
 * HttpTransport for RA-TLS: the node:http transport with its https sockets made by the project's TLS 1.3
 * engine, which checks the server against the configured roots and answers the server's challenge with the
 * RA-TLS credential. The engine's typed failures are sorted into the transport's connection, timeout and TLS errors.
 */
import { Duration, Effect, Either, Layer } from "effect"
import type { Scope } from "effect"
import * as net from "node:net"
import { rootCertificateList, type RaTlsMode, type ResolvedConfig } from "../../domain/Config.js"
import { Tls13Socket } from "../Tls13/Tls13Socket.js"
import { ConnectionError, HttpTransport, TimeoutError, TlsError, type TransportError } from "./HttpTransport.js"
import * as NodeHttpTransport from "./NodeHttpTransport.js"

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" ? error._tag : undefined

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * One engine failure as a transport error. Certificate, protocol and alert failures are TlsErrors whose
 * code is the engine's tag (`UntrustedRoot`, `AlertReceived`, ...); a failed client certificate callback
 * shows the RA-TLS reason (`RaTlsChallengeMissing`, `TokenCommandFailed`, ...) as the code instead.
 */
export const toTransportError = (host: string, connectMillis: number, error: unknown): TransportError => {
  const tag = tagOf(error)
  switch (tag) {
    case "ConnectionError":
    case "TimeoutError":
    case "TlsError":
      return error as TransportError
    case undefined:
      return NodeHttpTransport.classifyError(host, error)
    case "ClientCertificateFailed": {
      const cause = (error as { readonly cause: unknown }).cause
      return new TlsError({
        host,
        code: tagOf(cause) ?? tag,
        reason: `no RA-TLS client certificate: ${messageOf(cause)}`,
        cause: error
      })
    }
    case "HandshakeAborted":
      return (error as { readonly reason: string }).reason === "timeout"
        ? new TimeoutError({ host, phase: "connect", millis: connectMillis })
        : new ConnectionError({ host, code: tag, reason: messageOf(error) })
    case "TruncatedStream":
      return new ConnectionError({ host, code: tag, reason: messageOf(error) })
    case "TransportError": {
      const cause = (error as { readonly cause: unknown }).cause
      return NodeHttpTransport.classifyError(host, cause)
    }
    default:
      return new TlsError({ host, code: tag, reason: messageOf(error), cause: error })
  }
}

const resetCodes = new Set(["ECONNRESET", "EPIPE"])

/** The code of a reset or a close without close_notify, the ways a server drops a connection; else undefined. */
const droppedCode = (error: unknown): string | undefined => {
  const tag = tagOf(error)
  if (tag === "TruncatedStream") return tag
  const cause = tag === "TransportError" ? (error as { readonly cause: unknown }).cause : undefined
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : ""
  return resetCodes.has(code) ? code : undefined
}

/** The code of a kept-alive connection the server dropped before it answered the next request. */
export const StaleConnection = "StaleConnection"

/**
 * A connection the server dropped before answering the request just sent. On a fresh connection that is a
 * refused attestation: the server alerts and closes with the request unread, so its TCP stack resets the
 * connection and the reset often overtakes the alert. On a kept-alive one it is a server that closes idle
 * connections (some without close_notify) while the request was on its way, which is safe to retry.
 */
const droppedBeforeAnswer = (host: string, error: unknown, reused: boolean): TransportError | undefined => {
  const code = droppedCode(error)
  if (code === undefined) return undefined
  return reused
    ? new ConnectionError({ host, code: StaleConnection, reason: `the server closed the kept-alive connection before answering (${code})` })
    : new TlsError({
      host,
      code,
      reason: "the server closed the connection after the RA-TLS handshake without answering: it most likely refused the client's attestation",
      cause: error
    })
}

/** A Tls13Socket whose 'error' events carry transport errors, so node:http hands them on already sorted. */
const socketReporting = (host: string, connectMillis: number) =>
  class RaTlsSocket extends Tls13Socket {
    /** Whether the server sent application data at all, and since the client last wrote (a request). */
    private answered = false
    private answeredSinceWrite = false

    override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
      this.answeredSinceWrite = false
      super._write(chunk, encoding, callback)
    }

    override push(chunk: unknown, encoding?: BufferEncoding): boolean {
      if (chunk !== null) this.answered = this.answeredSinceWrite = true
      return super.push(chunk, encoding)
    }

    override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
      super._destroy(error, (reported) => {
        if (reported == null) return callback(reported)
        const dropped = this.authorized && !this.answeredSinceWrite ? droppedBeforeAnswer(host, reported, this.answered) : undefined
        callback(dropped ?? toTransportError(host, connectMillis, reported))
      })
    }
  }

const isStale = (error: TransportError) => error._tag === "ConnectionError" && error.code === StaleConnection

export const make = (config: ResolvedConfig, mode: RaTlsMode): Effect.Effect<HttpTransport["Type"], never, Scope.Scope> =>
  Effect.gen(function* () {
    // validate() has checked the roots already; a config that skipped it fails here as a defect.
    const rootCertificates = Either.getOrThrowWith(rootCertificateList(mode.rootCertificates), (reason) => new Error(reason))
    const connectMillis = Duration.toMillis(config.timeouts.connect)
    const Socket = socketReporting(config.origin.host, connectMillis)
    const transport = yield* NodeHttpTransport.make({
      ...NodeHttpTransport.optionsFor(config),
      // A Tls13Socket is a Duplex shaped like a TLSSocket as far as node:http uses one, not a net.Socket.
      createSecureConnection: (options) =>
        new Socket(net.connect({ host: options.host, port: options.port }), {
          // https.Agent leaves servername empty for an IP address; the engine then checks the IP itself.
          servername: options.servername !== undefined && options.servername !== "" ? options.servername : options.host,
          rootCertificates,
          clientCertificate: mode.certResolver.clientCertificate,
          timeout: connectMillis
        }) as unknown as net.Socket
    })
    // GET and HEAD are idempotent, and the agent drops the stale socket, so one retry gets a fresh connection.
    return { request: (request) => Effect.retry(transport.request(request), { times: 1, while: isStale }) }
  })

export const layer = (config: ResolvedConfig, mode: RaTlsMode): Layer.Layer<HttpTransport> =>
  Layer.scoped(HttpTransport, make(config, mode))
