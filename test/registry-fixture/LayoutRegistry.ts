// The layout registry, modelled on Islet's `ir-server`: a directory of OCI image layouts, one repository
// per sub-directory, served over the Distribution pull API on a free loopback port for a Scope.
// The listeners only carry connections to `layoutRequestHandler`: node:http, node:https, the TLS 1.3 engine's
// server role authenticating clients the RA-TLS way, or any Duplex stream.
import { Context, Data, Effect, type Fiber, Layer, Queue, Runtime, type Scope, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import * as path from "node:path"
import type { Duplex } from "node:stream"
import { ClientRejected } from "../../src/services/Tls13/handshake/server/ClientAuthenticationError.js"
import { type FailedHandshake, listenTls13Scoped } from "../../src/services/Tls13/Tls13Server.js"
import { makeServerCertificates } from "./Certificates.js"
import { type LayoutExchange, layoutRequestHandler } from "./LayoutRequestHandler.js"
import * as RaTlsPolicy from "./RaTlsPolicy.js"
import * as RaTlsVerifier from "./RaTlsVerifier.js"

export type LayoutRegistryMode = "no-tls" | "tls" | "ra-tls"

export interface LayoutRegistryOptions {
  /**
   * The directory of layouts. The layout of repository `a/b.c` is `root/a/b.c` (one directory per name
   * component); tags come from the `org.opencontainers.image.ref.name` annotations of its index.json.
   */
  readonly root: string
  readonly mode: LayoutRegistryMode
  /**
   * The server certificate chain and key, for modes "tls" and "ra-tls". `serverTls(...)` from Certificates
   * fits. In "ra-tls" mode it may be left out: a CA and a certificate for localhost / 127.0.0.1 / ::1 are
   * made, and the CA is returned as `caPem`.
   */
  readonly tls?: { readonly certPem: string; readonly keyPem: string }
  /** What "ra-tls" mode demands of a client's attestation; default `RaTlsPolicy.strict()`. */
  readonly raTls?: { readonly policy: RaTlsPolicy.Policy }
  /** A loopback address to listen on. Default 127.0.0.1. */
  readonly host?: "127.0.0.1" | "::1"
}

export interface RunningLayoutRegistry {
  /** `127.0.0.1:PORT` (`[::1]:PORT`), what `Config.builder().host(...)` takes. */
  readonly host: string
  /** `http://…` or `https://…` */
  readonly url: string
  readonly port: number
  /** Every request answered so far, oldest first. */
  readonly requests: () => ReadonlyArray<LayoutExchange>
  /** The root CA a client must trust, when the registry made its own certificate ("ra-tls" without `tls`). */
  readonly caPem: string | undefined
  /** RA-TLS clients that passed the policy, with their verified token; always empty outside "ra-tls". */
  readonly acceptedClients: () => ReadonlyArray<RaTlsVerifier.AcceptedClient>
  /** RA-TLS clients refused, with the typed reason; always empty outside "ra-tls". */
  readonly rejectedClients: () => ReadonlyArray<RaTlsVerifier.RejectedClient>
}

export class LayoutRootMissing extends Data.TaggedError("LayoutRootMissing")<{
  readonly root: string
  readonly reason: string
}> {
  override get message(): string {
    return `the layout registry root ${this.root} is not a readable directory: ${this.reason}`
  }
}

export class LayoutTlsMissing extends Data.TaggedError("LayoutTlsMissing")<{}> {
  override get message(): string {
    return `the layout registry in "tls" mode needs tls.certPem and tls.keyPem`
  }
}

export class LayoutTlsInvalid extends Data.TaggedError("LayoutTlsInvalid")<{ readonly reason: string }> {
  override get message(): string {
    return `the layout registry cannot use tls.certPem / tls.keyPem: ${this.reason}`
  }
}

export class LayoutListenFailed extends Data.TaggedError("LayoutListenFailed")<{
  readonly address: string
  readonly reason: string
}> {
  override get message(): string {
    return `the layout registry could not listen on ${this.address}: ${this.reason}`
  }
}

export type LayoutRegistryError = LayoutRootMissing | LayoutTlsMissing | LayoutTlsInvalid | LayoutListenFailed

/**
 * Closes `server` and every connection it still holds when the scope closes, so keep-alive clients
 * cannot hold the scope open.
 */
const closeWithScope = (server: http.Server, connections: Set<Duplex>) =>
  Effect.addFinalizer(() =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      for (const connection of connections) connection.destroy()
      server.closeAllConnections()
    })
  )

const tracked = (server: http.Server): Set<Duplex> => {
  const connections = new Set<Duplex>()
  server.on("connection", (connection: Duplex) => {
    connections.add(connection)
    connection.once("close", () => connections.delete(connection))
  })
  return connections
}

/**
 * Serves HTTP on each connection `connections` yields (a TLS engine's decrypted streams, a socket pair,
 * …) until the scope closes, which also destroys the connections still open. The returned fiber ends
 * when the connection stream ends or fails.
 */
export const serveConnections = <E>(
  handler: http.RequestListener,
  connections: Stream.Stream<Duplex, E>
): Effect.Effect<Fiber.RuntimeFiber<void, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const server = http.createServer(handler)
    const open = tracked(server)
    yield* closeWithScope(server, open)
    return yield* Stream.runForEach(connections, (connection) => Effect.sync(() => server.emit("connection", connection)))
      .pipe(Effect.forkScoped)
  })

/** One line per failed handshake; for a refused RA-TLS client, the line names the check it failed. */
const logFailedHandshake = (failure: FailedHandshake): Effect.Effect<void> => {
  const line = failure.error instanceof ClientRejected
    ? `RA-TLS client rejected: ${failure.error.reason}`
    : `TLS handshake failed: ${failure.error.message}`
  // The engine reads the address after the socket is destroyed, when Node no longer knows it.
  return failure.remoteAddress === undefined
    ? Effect.logWarning(line)
    : Effect.logWarning(line).pipe(Effect.annotateLogs({ remote: `${failure.remoteAddress}:${failure.remotePort}` }))
}

interface RaTlsListener {
  readonly port: number
  readonly caPem: string | undefined
  readonly verifier: RaTlsVerifier.RaTlsVerifier
}

/**
 * The TLS 1.3 engine's server with a fresh challenge per connection and the policy's verifier; node:http
 * serves `handler` over every connection whose client passed.
 */
const listenRaTls = (
  handler: http.RequestListener,
  options: LayoutRegistryOptions,
  host: string
): Effect.Effect<RaTlsListener, LayoutTlsInvalid | LayoutListenFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const { caPem, certPem, keyPem } = options.tls === undefined
      ? yield* Effect.map(makeServerCertificates(), ({ ca, server }) => ({
        caPem: ca.certPem,
        certPem: server.chainPem,
        keyPem: server.keyPem
      }))
      : { ...options.tls, caPem: undefined }
    const policy = options.raTls?.policy ?? RaTlsPolicy.strict()
    const verifier = RaTlsVerifier.make(policy)
    const runtime = yield* Effect.runtime<never>()
    const secured = yield* Queue.unbounded<Duplex>()
    yield* serveConnections(handler, Stream.fromQueue(secured))
    const listening = yield* listenTls13Scoped(
      {
        certificateChainPem: certPem,
        privateKeyPem: keyPem,
        certificateRequest: verifier.certificateRequest,
        verifyClient: verifier.verifyClient,
        onHandshakeError: (failure) => Runtime.runFork(runtime)(logFailedHandshake(failure))
      },
      (socket) => Queue.unsafeOffer(secured, socket),
      { host, port: 0 }
    ).pipe(
      Effect.catchTags({
        InvalidServerCredential: (error) => new LayoutTlsInvalid({ reason: error.message }),
        ServerListenFailed: (error) => new LayoutListenFailed({ address: `${host}:0`, reason: error.message })
      })
    )
    yield* Effect.logDebug(`RA-TLS policy: ${RaTlsPolicy.describe(policy)}`)
    return { port: listening.port, caPem, verifier }
  })

const checkRoot = (root: string) =>
  Effect.tryPromise({
    try: () => fs.stat(root),
    catch: (e) => new LayoutRootMissing({ root, reason: e instanceof Error ? e.message : String(e) })
  }).pipe(
    Effect.filterOrFail((s) => s.isDirectory(), () => new LayoutRootMissing({ root, reason: "not a directory" }))
  )

const listen = (server: http.Server, host: string) =>
  Effect.async<number, LayoutListenFailed>((resume) => {
    const onError = (e: Error) => resume(Effect.fail(new LayoutListenFailed({ address: `${host}:0`, reason: e.message })))
    server.once("error", onError)
    server.listen({ host, port: 0 }, () => {
      server.off("error", onError)
      resume(Effect.succeed((server.address() as net.AddressInfo).port))
    })
  })

/** node:http or node:https listening on a free port of `host`, closed with the scope. */
const listenHttp = (handler: http.RequestListener, options: LayoutRegistryOptions, host: string) =>
  Effect.gen(function*() {
    let server: http.Server
    if (options.mode === "tls") {
      if (options.tls === undefined) return yield* new LayoutTlsMissing()
      server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler)
    } else {
      server = http.createServer(handler)
    }
    yield* closeWithScope(server, tracked(server))
    return yield* listen(server, host)
  })

/** Starts the layout registry; it stops, connections and all, when the enclosing Scope closes. */
export const startLayoutRegistry = (
  options: LayoutRegistryOptions
): Effect.Effect<RunningLayoutRegistry, LayoutRegistryError, Scope.Scope> =>
  Effect.gen(function*() {
    const root = path.resolve(options.root)
    yield* checkRoot(root)
    const exchanges: Array<LayoutExchange> = []
    const handler = layoutRequestHandler(root, {
      runtime: yield* Effect.runtime<never>(),
      onExchange: (exchange) => exchanges.push(exchange)
    })
    const address = options.host ?? "127.0.0.1"
    const listener = options.mode === "ra-tls"
      ? yield* listenRaTls(handler, options, address)
      : { port: yield* listenHttp(handler, options, address), caPem: undefined, verifier: undefined }
    const { port, verifier } = listener
    const host = net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`
    yield* Effect.logDebug("layout registry listening").pipe(Effect.annotateLogs({ root, url: host, mode: options.mode }))
    const running: RunningLayoutRegistry = {
      host,
      url: `${options.mode === "no-tls" ? "http" : "https"}://${host}`,
      port,
      requests: () => [...exchanges],
      caPem: listener.caPem,
      acceptedClients: () => verifier?.accepted() ?? [],
      rejectedClients: () => verifier?.rejected() ?? []
    }
    return running
  }).pipe(Effect.withSpan("LayoutRegistry.start", { attributes: { root: options.root, mode: options.mode } }))

/** The layout registry as a service: `LayoutRegistry.layer({ root, mode })` serves for the layer's lifetime. */
export class LayoutRegistry extends Context.Tag("test/LayoutRegistry")<LayoutRegistry, RunningLayoutRegistry>() {
  static readonly layer = (options: LayoutRegistryOptions): Layer.Layer<LayoutRegistry, LayoutRegistryError> =>
    Layer.scoped(LayoutRegistry, startLayoutRegistry(options))
}
