// A TCP server that speaks the TLS 1.3 server engine: every accepted socket is wrapped in a Tls13ServerSocket
// and handed to the application once its handshake completes. A failed handshake never reaches the
// application: it is reported to a pluggable logger and the socket is closed.
import { Data, Effect, Runtime, type Scope } from "effect"
import * as net from "node:net"
import type { CipherSuite } from "./CipherSuite.js"
import {
  type CertificateRequestPolicy,
  type ClientVerifier,
  type ServerConfig,
  serverCipherSuitePreference
} from "./handshake/server/ServerConfig.js"
import { allNamedGroups, type NamedGroup } from "./NamedGroup.js"
import { InvalidServerCredential, readServerCredential, type ServerCredential } from "./ServerCredential.js"
import type { ServerFailure } from "./ServerConnection.js"
import { Tls13ServerSocket } from "./Tls13ServerSocket.js"

export interface FailedHandshake {
  readonly error: ServerFailure | Error
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
}

export interface Tls13ServerOptions {
  /** PEM certificates, the server's own first, then intermediates. */
  readonly certificateChainPem: string
  /** PEM private key of the first certificate: ECDSA P-256/P-384, Ed25519 or RSA (signs with RSA-PSS). */
  readonly privateKeyPem: string
  /**
   * Drawn once per connection: undefined sends no CertificateRequest. Drawing per connection is what lets
   * an RA-TLS server put a fresh challenge in every request.
   */
  readonly certificateRequest?: () => CertificateRequestPolicy | undefined
  readonly verifyClient?: ClientVerifier
  /** Accepted suites in preference order; defaults to AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305. */
  readonly cipherSuites?: ReadonlyArray<CipherSuite>
  /** Accepted groups in preference order; defaults to X25519, P-256, P-384. */
  readonly groups?: ReadonlyArray<NamedGroup>
  /** Milliseconds a client may take to complete its handshake; 30 s by default. */
  readonly handshakeTimeout?: number
  /** Called for every handshake that fails; logs a warning through Effect's default logger by default. */
  readonly onHandshakeError?: (failure: FailedHandshake) => void
}

const defaultHandshakeTimeout = 30_000

const logFailedHandshake = (failure: FailedHandshake): Effect.Effect<void> =>
  Effect.logWarning(`TLS handshake failed: ${failure.error.message}`).pipe(
    Effect.annotateLogs({
      error: (failure.error as { _tag?: string })._tag ?? failure.error.name,
      remote: `${failure.remoteAddress ?? "?"}:${failure.remotePort ?? "?"}`
    })
  )

const serve = (
  credential: ServerCredential,
  options: Tls13ServerOptions,
  onSecureConnection: (socket: Tls13ServerSocket) => void
): net.Server => {
  const report = options.onHandshakeError ?? ((failure) => Effect.runFork(logFailedHandshake(failure)))
  return net.createServer((tcp) => {
    // Read now: once the socket is destroyed Node no longer knows the peer's address.
    const { remoteAddress, remotePort } = tcp
    const failed = (error: Error) => report({ error, remoteAddress, remotePort })
    let certificateRequest: CertificateRequestPolicy | undefined
    try {
      certificateRequest = options.certificateRequest?.()
    } catch (error) {
      tcp.destroy()
      return failed(error instanceof Error ? error : new Error(String(error)))
    }
    const config: ServerConfig = {
      credential,
      cipherSuites: options.cipherSuites ?? serverCipherSuitePreference,
      groups: options.groups ?? allNamedGroups,
      certificateRequest,
      verifyClient: options.verifyClient
    }
    const socket = new Tls13ServerSocket(tcp, config, options.handshakeTimeout ?? defaultHandshakeTimeout)
    socket.once("error", failed)
    socket.once("secure", () => {
      socket.off("error", failed)
      onSecureConnection(socket)
    })
  })
}

/**
 * A net.Server (not yet listening) that runs the TLS 1.3 server handshake on every connection and calls
 * `onSecureConnection` with the socket once it is secure. Throws InvalidServerCredential at once when the
 * certificate chain or key is unusable.
 */
export const createTls13Server = (
  options: Tls13ServerOptions,
  onSecureConnection: (socket: Tls13ServerSocket) => void
): net.Server =>
  serve(readServerCredential(options.certificateChainPem, options.privateKeyPem), options, onSecureConnection)

export class ServerListenFailed extends Data.TaggedError("ServerListenFailed")<{
  readonly host: string
  readonly port: number
  readonly cause: unknown
}> {
  override get message() {
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `cannot listen on ${this.host}:${this.port}: ${reason}`
  }
}

export interface RunningTls13Server {
  readonly server: net.Server
  readonly host: string
  readonly port: number
}

/**
 * Creates and starts a TLS 1.3 server inside a Scope (127.0.0.1 and a free port unless told otherwise);
 * closing the scope destroys open connections and stops listening. Failed handshakes are logged through the
 * caller's runtime unless `onHandshakeError` is given.
 */
export const listenTls13Scoped = (
  options: Tls13ServerOptions,
  onSecureConnection: (socket: Tls13ServerSocket) => void,
  address: { readonly host?: string; readonly port?: number } = {}
): Effect.Effect<RunningTls13Server, InvalidServerCredential | ServerListenFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const host = address.host ?? "127.0.0.1"
    const port = address.port ?? 0
    const credential = yield* Effect.try({
      try: () => readServerCredential(options.certificateChainPem, options.privateKeyPem),
      catch: (error) =>
        error instanceof InvalidServerCredential ? error : new InvalidServerCredential({ reason: String(error) })
    })
    const runtime = yield* Effect.runtime<never>()
    const report = options.onHandshakeError ?? ((failure) => Runtime.runFork(runtime)(logFailedHandshake(failure)))
    const connections = new Set<net.Socket>()
    return yield* Effect.acquireRelease(
      Effect.async<RunningTls13Server, ServerListenFailed>((resume) => {
        const server = serve(credential, { ...options, onHandshakeError: report }, onSecureConnection)
        server.on("connection", (socket: net.Socket) => {
          connections.add(socket)
          socket.once("close", () => connections.delete(socket))
        })
        server.once("error", (cause) => resume(Effect.fail(new ServerListenFailed({ host, port, cause }))))
        server.listen(port, host, () => {
          resume(Effect.succeed({ server, host, port: (server.address() as net.AddressInfo).port }))
        })
      }),
      ({ server }) =>
        Effect.async<void>((resume) => {
          for (const socket of connections) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
  }).pipe(Effect.withSpan("Tls13Server.listen"))
