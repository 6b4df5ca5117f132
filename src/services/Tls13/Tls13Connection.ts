// The role-independent core of a TLS 1.3 connection, without I/O of its own: bytes from the network go in,
// records to send and decrypted application data come out through the callbacks. It routes records by
// content type, drives the role's handshake states, and turns every failure into one alert and one error.
import { HandshakeContext, type RecordOperations } from "./handshake/HandshakeContext.js"
import type { HandshakeState } from "./handshake/HandshakeState.js"
import { HandshakeReader } from "./HandshakeReader.js"
import { AlertDescription, alertName, decodeAlert, encodeAlert } from "./messages/Alert.js"
import { ContentType, RecordLayer } from "./RecordLayer.js"
import {
  AlertReceived,
  alertFor,
  DecodeError,
  isProtocolError,
  TruncatedStream,
  UnexpectedMessage
} from "./Tls13Error.js"

export interface ConnectionCallbacks {
  /** Records to put on the wire, in order. */
  readonly write: (records: ReadonlyArray<Buffer>) => void
  readonly handshakeComplete: () => void
  readonly data: (chunk: Buffer) => void
  /** The peer sent close_notify: no more data will come. */
  readonly closeNotify: () => void
  /** The connection is dead; an alert has been written when there was one to send. */
  readonly failure: (error: Error) => void
}

/** What a role brings to the core: its states, when it counts as connected, and the alerts for its own errors. */
export interface ConnectionRole<Config, State> {
  readonly config: Config
  readonly isConnected: (state: State) => boolean
  /** The alert for each role-specific error `_tag`; tags not listed here and not protocol errors send none. */
  readonly alerts: Readonly<Record<string, AlertDescription>>
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

export abstract class Tls13Connection<Config, State extends HandshakeState<HandshakeContext<Config>, State>> {
  private readonly records = new RecordLayer()
  private readonly handshake = new HandshakeReader()
  protected readonly context: HandshakeContext<Config>
  protected state: State | undefined
  /** Set while a state waits for the application; records stay buffered meanwhile. */
  private waiting = false
  private finished = false
  private closeNotifyReceived = false
  /** The transport has ended; once the buffered records are processed, a missing close_notify is a truncation. */
  private transportClosed = false
  /** We sent close_notify: nothing but a fatal alert may follow it (not even a KeyUpdate answer). */
  private closeNotifySent = false

  constructor(
    private readonly role: ConnectionRole<Config, State>,
    private readonly callbacks: ConnectionCallbacks
  ) {
    const operations: RecordOperations = {
      send: (contentType, data) => this.write(contentType, data),
      setReadKey: (suite, secret) => this.records.setReadKey(suite, secret),
      setWriteKey: (suite, secret) => this.records.setWriteKey(suite, secret),
      requireRecordBoundary: () => {
        if (!this.handshake.isEmpty) {
          throw new UnexpectedMessage({ state: this.stateName, received: "handshake data across a key change" })
        }
      }
    }
    this.context = new HandshakeContext(role.config, operations)
  }

  private get stateName(): string {
    return this.state?.name ?? "Start"
  }

  get isConnected(): boolean {
    return this.state !== undefined && this.role.isConnected(this.state)
  }

  get isClosed(): boolean {
    return this.finished
  }

  /** The peer sent close_notify: what was received is complete. */
  get peerClosed(): boolean {
    return this.closeNotifyReceived
  }

  receive(chunk: Buffer): void {
    if (this.finished || this.closeNotifyReceived) return
    this.records.receive(chunk)
    this.pump()
  }

  /** Application data; only valid once connected. */
  send(data: Uint8Array): void {
    if (this.finished) return
    this.write(ContentType.application_data, data)
  }

  /** Sends close_notify; the connection can still receive until the peer closes. */
  close(): void {
    if (this.finished) return
    this.write(ContentType.alert, encodeAlert(AlertDescription.close_notify))
    this.closeNotifySent = true
  }

  private write(contentType: ContentType, data: Uint8Array): void {
    if (this.closeNotifySent) return
    this.callbacks.write(this.records.encode(contentType, data))
  }

  /** The transport ended: without a close_notify among the records received, the stream was truncated. */
  transportEnded(): void {
    this.transportClosed = true
    this.pump()
  }

  /** Ends the connection from outside (timeout, abort, transport error), alerting the peer when useful. */
  abort(error: Error): void {
    this.fail(error)
  }

  /** Enters the first state, running `start` (which may send the first flight) as part of the connection. */
  protected begin(start: () => State): void {
    this.guard(() => {
      this.state = start()
    })
  }

  /** Replaces the state from outside the message flow (a locally initiated KeyUpdate). */
  protected transition(change: (state: State, context: HandshakeContext<Config>) => State): void {
    if (this.finished || this.state === undefined) return
    const state = this.state
    this.guard(() => {
      this.state = change(state, this.context)
    })
  }

  private guard(action: () => void): void {
    try {
      action()
    } catch (error) {
      this.fail(error)
    }
  }

  /** The alert to send for a failure we detected; undefined when the peer already knows (it alerted us). */
  private alertForFailure(error: unknown): AlertDescription | undefined {
    const tag = tagOf(error)
    if (tag === undefined) return AlertDescription.internal_error
    if (isProtocolError(error)) return alertFor(error)
    if (tag === "HandshakeAborted") return AlertDescription.user_canceled
    return Object.hasOwn(this.role.alerts, tag) ? this.role.alerts[tag] : undefined
  }

  private fail(error: unknown): void {
    if (this.finished) return
    this.finished = true
    const alert = this.alertForFailure(error)
    if (alert !== undefined) {
      try {
        this.callbacks.write(this.records.encode(ContentType.alert, encodeAlert(alert)))
      } catch {
        // The alert is a courtesy; the failure below is what the caller acts on.
      }
    }
    this.callbacks.failure(error instanceof Error ? error : new Error(String(error)))
  }

  private pump(): void {
    this.guard(() => {
      while (!this.waiting && !this.finished && !this.closeNotifyReceived) {
        const message = this.state === undefined ? undefined : this.handshake.next()
        if (message !== undefined) {
          const next = this.state!.handle(message, this.context)
          if (next instanceof Promise) {
            this.waiting = true
            next.then(
              (state) => {
                this.waiting = false
                this.enter(state)
                this.pump()
              },
              (error: unknown) => this.fail(error)
            )
            return
          }
          this.enter(next)
          continue
        }
        const record = this.records.next()
        if (record === undefined) {
          if (this.transportClosed) throw new TruncatedStream({ phase: this.isConnected ? "data" : "handshake" })
          return
        }
        this.dispatch(record.contentType, record.content)
      }
    })
  }

  private enter(next: State): void {
    const completing = !this.isConnected && this.role.isConnected(next)
    this.state = next
    if (completing) this.callbacks.handshakeComplete()
  }

  private dispatch(contentType: number, content: Buffer): void {
    switch (contentType) {
      case ContentType.application_data:
        if (!this.isConnected || !this.handshake.isEmpty) {
          throw new UnexpectedMessage({ state: this.stateName, received: "application data" })
        }
        if (content.length > 0) this.callbacks.data(content)
        return
      case ContentType.handshake:
        if (content.length === 0) throw new DecodeError({ reason: "empty handshake record" })
        this.handshake.push(content)
        return
      case ContentType.alert:
        return this.onAlert(decodeAlert(content))
      case ContentType.change_cipher_spec:
        // Compatibility mode (RFC 8446 D.4): a single 0x01 byte is ignored until the handshake is over.
        if (this.isConnected || content.length !== 1 || content[0] !== 1) {
          throw new UnexpectedMessage({ state: this.stateName, received: "change_cipher_spec" })
        }
        return
      default:
        throw new UnexpectedMessage({ state: this.stateName, received: `record type ${contentType}` })
    }
  }

  private onAlert(description: number): void {
    if (description === AlertDescription.close_notify) {
      if (!this.isConnected) {
        throw new AlertReceived({ description, alert: alertName(description) })
      }
      this.closeNotifyReceived = true
      this.callbacks.closeNotify()
      return
    }
    if (description === AlertDescription.user_canceled) return
    this.finished = true
    this.callbacks.failure(new AlertReceived({ description, alert: alertName(description) }))
  }
}
