// The layout registry, modelled on Islet's `ir-server`: a directory of OCI image layouts, one repository
// per sub-directory, served over the Distribution pull API on a free loopback port for a Scope.
// The listeners only carry connections to `layoutRequestHandler`: node:http, node:https, or any Duplex stream.
import { Context, Data, Effect, type Fiber, Layer, type Scope, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import * as path from "node:path"
import type { Duplex } from "node:stream"
import { type LayoutExchange, layoutRequestHandler } from "./LayoutRequestHandler.js"

export type LayoutRegistryMode = "no-tls" | "tls"

export interface LayoutRegistryOptions {
  /**
   * The directory of layouts. The layout of repository `a/b.c` is `root/a/b.c` (one directory per name
   * component); tags come from the `org.opencontainers.image.ref.name` annotations of its index.json.
   */
  readonly root: string
  readonly mode: LayoutRegistryMode
  /** The server certificate chain and key, for mode "tls". `serverTls(...)` from Certificates fits. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string }
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

export class LayoutListenFailed extends Data.TaggedError("LayoutListenFailed")<{
  readonly address: string
  readonly reason: string
}> {
  override get message(): string {
    return `the layout registry could not listen on ${this.address}: ${this.reason}`
  }
}

export type LayoutRegistryError = LayoutRootMissing | LayoutTlsMissing | LayoutListenFailed

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
    let server: http.Server
    if (options.mode === "tls") {
      if (options.tls === undefined) return yield* new LayoutTlsMissing()
      server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler)
    } else {
      server = http.createServer(handler)
    }
    yield* closeWithScope(server, tracked(server))
    const address = options.host ?? "127.0.0.1"
    const port = yield* listen(server, address)
    const host = net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`
    yield* Effect.logDebug("layout registry listening").pipe(Effect.annotateLogs({ root, url: host, mode: options.mode }))
    const running: RunningLayoutRegistry = {
      host,
      url: `${options.mode === "tls" ? "https" : "http"}://${host}`,
      port,
      requests: () => [...exchanges]
    }
    return running
  }).pipe(Effect.withSpan("LayoutRegistry.start", { attributes: { root: options.root, mode: options.mode } }))

/** The layout registry as a service: `LayoutRegistry.layer({ root, mode })` serves for the layer's lifetime. */
export class LayoutRegistry extends Context.Tag("test/LayoutRegistry")<LayoutRegistry, RunningLayoutRegistry>() {
  static readonly layer = (options: LayoutRegistryOptions): Layer.Layer<LayoutRegistry, LayoutRegistryError> =>
    Layer.scoped(LayoutRegistry, startLayoutRegistry(options))
}
