// The TLS 1.3 client engine as a node:stream Duplex over a net.Socket, shaped like a tls.TLSSocket far
// enough for node:http (Agent.createConnection, keep-alive, timeouts): plaintext in and out, records on
// the wire, 'secureConnect' when the handshake is done and typed errors on 'error'.
import { Effect, type Scope } from "effect"
import * as net from "node:net"
import { Duplex } from "node:stream"
import { CertificateVerifier, InvalidRootCertificate } from "./CertificateVerifier.js"
import { allCipherSuites, type CipherSuite } from "./CipherSuite.js"
import { ClientConnection, type Tls13Failure } from "./ClientConnection.js"
import type { ClientCertificateCallback } from "./handshake/client/ClientConfig.js"
import { allNamedGroups, type NamedGroup } from "./NamedGroup.js"
import { HandshakeAborted, TransportError } from "./Tls13Error.js"

export interface Tls13ConnectOptions {
  readonly host: string
  readonly port: number
  /** Name the server certificate must match (and the SNI); defaults to `host`. */
  readonly servername?: string
  /** PEM root certificates the server chain must lead to. */
  readonly rootCertificates: ReadonlyArray<string>
  readonly clientCertificate?: ClientCertificateCallback
  /** Offered suites, in preference order; defaults to all three TLS 1.3 suites. */
  readonly cipherSuites?: ReadonlyArray<CipherSuite>
  /** Offered groups, in preference order; the first gets a key share in the first ClientHello. */
  readonly groups?: ReadonlyArray<NamedGroup>
  readonly signal?: AbortSignal
  /** Milliseconds the TCP connect plus handshake may take. */
  readonly timeout?: number
}

export class Tls13Socket extends Duplex {
  readonly encrypted = true
  /** True once the server is authenticated and the handshake complete. */
  authorized = false
  private readonly connection: ClientConnection
  private readonly pendingWrites: Array<{ chunk: Buffer; callback: (error?: Error | null) => void }> = []
  private handshakeTimer: NodeJS.Timeout | undefined
  private readonly signal: AbortSignal | undefined
  private readonly onAbort = () => this.abortHandshake("aborted")

  constructor(
    private readonly socket: net.Socket,
    options: Omit<Tls13ConnectOptions, "host" | "port"> & { readonly servername: string }
  ) {
    super({ allowHalfOpen: false })
    this.connection = new ClientConnection(
      {
        serverName: options.servername,
        verifier: new CertificateVerifier(options.rootCertificates),
        cipherSuites: options.cipherSuites ?? allCipherSuites,
        groups: options.groups ?? allNamedGroups,
        clientCertificate: options.clientCertificate
      },
      {
        write: (records) => this.writeRecords(records),
        handshakeComplete: () => this.onHandshakeComplete(),
        data: (chunk) => {
          if (!this.push(chunk)) this.socket.pause()
        },
        closeNotify: () => this.push(null),
        failure: (error) => this.destroy(error)
      }
    )
    if (options.timeout !== undefined) {
      this.handshakeTimer = setTimeout(() => this.abortHandshake("timeout"), options.timeout)
    }
    if (options.signal !== undefined) {
      if (options.signal.aborted) queueMicrotask(this.onAbort)
      else options.signal.addEventListener("abort", this.onAbort, { once: true })
    }
    this.signal = options.signal
    socket.on("data", (chunk: Buffer) => this.connection.receive(chunk))
    socket.on("end", () => this.connection.transportEnded())
    socket.on("error", (cause) => this.destroy(new TransportError({ cause })))
    // After close_notify the readable side ends on its own once consumed; destroying here would drop
    // data the consumer has not read yet.
    socket.on("close", () => {
      if (!this.destroyed && !this.connection.peerClosed) this.destroy()
    })
    socket.on("timeout", () => this.emit("timeout"))
    if (socket.connecting) socket.once("connect", () => this.connection.start())
    else this.connection.start()
  }

  private abortHandshake(reason: "timeout" | "aborted"): void {
    if (this.authorized || this.destroyed) return
    this.connection.abort(new HandshakeAborted({ reason }))
  }

  private writeRecords(records: ReadonlyArray<Buffer>): void {
    if (this.socket.destroyed) return
    this.socket.cork()
    for (const record of records) this.socket.write(record)
    this.socket.uncork()
  }

  private onHandshakeComplete(): void {
    this.clearHandshakeGuards()
    this.authorized = true
    this.emit("secureConnect")
    this.emit("connect")
    for (const { callback, chunk } of this.pendingWrites.splice(0)) this.sendNow(chunk, callback)
  }

  private clearHandshakeGuards(): void {
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer)
    this.handshakeTimer = undefined
    this.signal?.removeEventListener("abort", this.onAbort)
  }

  override _read(): void {
    if (this.socket.isPaused()) this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.authorized) this.sendNow(chunk, callback)
    else this.pendingWrites.push({ chunk, callback })
  }

  private sendNow(chunk: Buffer, callback: (error?: Error | null) => void): void {
    this.connection.send(chunk)
    if (this.socket.writableNeedDrain) this.socket.once("drain", () => callback())
    else callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.authorized) this.connection.close()
    this.socket.end(() => callback())
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearHandshakeGuards()
    if (error !== null && !this.connection.isClosed) this.connection.abort(error as Tls13Failure)
    for (const { callback: pending } of this.pendingWrites.splice(0)) pending(error)
    this.socket.destroy()
    callback(error)
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.socket.setKeepAlive(enable, initialDelay)
    return this
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay)
    return this
  }

  setTimeout(timeout: number, callback?: () => void): this {
    this.socket.setTimeout(timeout)
    if (callback !== undefined) this.once("timeout", callback)
    return this
  }

  ref(): this {
    this.socket.ref()
    return this
  }

  unref(): this {
    this.socket.unref()
    return this
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress
  }

  get localPort(): number | undefined {
    return this.socket.localPort
  }
}

/**
 * Opens a TCP connection and runs the TLS 1.3 client handshake over it.
 * Throws InvalidRootCertificate at once when a configured root does not parse; every later failure is an
 * 'error' event carrying a Tls13Failure.
 */
export const connectTls13 = (options: Tls13ConnectOptions): Tls13Socket =>
  new Tls13Socket(net.connect({ host: options.host, port: options.port }), {
    ...options,
    servername: options.servername ?? options.host
  })

/**
 * Connects and waits for the handshake inside a Scope: the socket is destroyed when the scope closes, and a
 * handshake failure is the typed error the socket reported.
 */
export const connectTls13Scoped = (
  options: Tls13ConnectOptions
): Effect.Effect<Tls13Socket, Tls13Failure | InvalidRootCertificate, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Tls13Socket, Tls13Failure | InvalidRootCertificate>((resume) => {
      let socket: Tls13Socket
      try {
        socket = connectTls13(options)
      } catch (error) {
        if (error instanceof InvalidRootCertificate) return resume(Effect.fail(error))
        throw error
      }
      const onError = (error: Error) => resume(Effect.fail(error as Tls13Failure))
      socket.once("error", onError)
      socket.once("secureConnect", () => {
        socket.off("error", onError)
        resume(Effect.succeed(socket))
      })
      return Effect.sync(() => socket.destroy())
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )
