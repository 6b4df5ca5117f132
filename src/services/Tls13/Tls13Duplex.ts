// A TLS 1.3 connection core as a node:stream Duplex over a net.Socket, for either role: plaintext in and
// out, records on the wire, writes held until the handshake completes, typed errors on 'error', and the
// net.Socket methods node:http calls (timeouts, keep-alive, addresses).
import type * as net from "node:net"
import { Duplex } from "node:stream"
import type { ConnectionCallbacks, Tls13Connection } from "./Tls13Connection.js"
import { HandshakeAborted, TransportError } from "./Tls13Error.js"

export interface HandshakeGuards {
  /** Milliseconds the handshake may take. */
  readonly timeout?: number
  readonly signal?: AbortSignal
}

/** What the Duplex drives: a Tls13Connection of either role. */
export type EngineConnection = Pick<
  Tls13Connection<unknown, never>,
  "receive" | "send" | "close" | "transportEnded" | "abort" | "isConnected" | "isClosed" | "peerClosed"
>

export abstract class Tls13Duplex<Connection extends EngineConnection> extends Duplex {
  readonly encrypted = true
  protected readonly connection: Connection
  private readonly pendingWrites: Array<{ chunk: Buffer; callback: (error?: Error | null) => void }> = []
  private handshakeTimer: NodeJS.Timeout | undefined
  private readonly signal: AbortSignal | undefined
  private readonly onAbort = () => this.abortHandshake("aborted")

  constructor(
    protected readonly socket: net.Socket,
    makeConnection: (callbacks: ConnectionCallbacks) => Connection,
    guards: HandshakeGuards
  ) {
    super({ allowHalfOpen: false })
    this.connection = makeConnection({
      write: (records) => this.writeRecords(records),
      handshakeComplete: () => this.onHandshakeComplete(),
      data: (chunk) => {
        if (!this.push(chunk)) this.socket.pause()
      },
      closeNotify: () => this.push(null),
      failure: (error) => this.destroy(error)
    })
    if (guards.timeout !== undefined) {
      this.handshakeTimer = setTimeout(() => this.abortHandshake("timeout"), guards.timeout)
    }
    if (guards.signal !== undefined) {
      if (guards.signal.aborted) queueMicrotask(this.onAbort)
      else guards.signal.addEventListener("abort", this.onAbort, { once: true })
    }
    this.signal = guards.signal
    socket.on("data", (chunk: Buffer) => this.connection.receive(chunk))
    socket.on("end", () => this.connection.transportEnded())
    socket.on("error", (cause) => this.destroy(new TransportError({ cause })))
    // After close_notify the readable side ends on its own once consumed; destroying here would drop
    // data the consumer has not read yet.
    socket.on("close", () => {
      if (!this.destroyed && !this.connection.peerClosed) this.destroy()
    })
    socket.on("timeout", () => this.emit("timeout"))
  }

  /** The handshake is complete: announce it the way the role's consumers expect. */
  protected abstract announceSecure(): void

  private abortHandshake(reason: "timeout" | "aborted"): void {
    if (this.connection.isConnected || this.destroyed) return
    this.connection.abort(new HandshakeAborted({ reason }))
  }

  private writeRecords(records: ReadonlyArray<Buffer>): void {
    if (this.socket.destroyed || this.socket.writableEnded) return
    this.socket.cork()
    for (const record of records) this.socket.write(record)
    this.socket.uncork()
  }

  private onHandshakeComplete(): void {
    this.clearHandshakeGuards()
    this.announceSecure()
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
    if (this.connection.isConnected) this.sendNow(chunk, callback)
    else this.pendingWrites.push({ chunk, callback })
  }

  private sendNow(chunk: Buffer, callback: (error?: Error | null) => void): void {
    this.connection.send(chunk)
    if (this.socket.writableNeedDrain) this.socket.once("drain", () => callback())
    else callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.connection.isConnected) this.connection.close()
    this.socket.end(() => callback())
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearHandshakeGuards()
    if (error !== null && !this.connection.isClosed) this.connection.abort(error)
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
