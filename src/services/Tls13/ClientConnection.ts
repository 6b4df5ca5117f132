// The client side of a TLS 1.3 connection without I/O of its own: bytes from the network go in, records to
// send and decrypted application data come out through the callbacks. It routes records by content type,
// drives the handshake states, and turns every failure into one typed error after alerting the peer.
import type { CertificateError } from "./CertificateVerifier.js"
import type { CipherSuite } from "./CipherSuite.js"
import { ClientContext } from "./handshake/client/ClientContext.js"
import type { ClientConfig } from "./handshake/client/ClientConfig.js"
import { startClientHandshake } from "./handshake/client/ClientHandshake.js"
import type { ClientState } from "./handshake/client/ClientState.js"
import { Connected } from "./handshake/client/Connected.js"
import { HandshakeReader } from "./HandshakeReader.js"
import { AlertDescription, alertName, decodeAlert, encodeAlert } from "./messages/Alert.js"
import { ContentType, RecordLayer } from "./RecordLayer.js"
import {
  AlertReceived,
  alertFor,
  ClientCertificateFailed,
  DecodeError,
  type HandshakeAborted,
  isProtocolError,
  type ProtocolError,
  type TransportError,
  TruncatedStream,
  UnexpectedMessage
} from "./Tls13Error.js"

export type Tls13Failure =
  | ProtocolError
  | CertificateError
  | AlertReceived
  | TruncatedStream
  | HandshakeAborted
  | ClientCertificateFailed
  | TransportError

export interface ConnectionCallbacks {
  /** Records to put on the wire, in order. */
  readonly write: (records: ReadonlyArray<Buffer>) => void
  readonly handshakeComplete: () => void
  readonly data: (chunk: Buffer) => void
  /** The server sent close_notify: no more data will come. */
  readonly closeNotify: () => void
  /** The connection is dead; an alert has been written when there was one to send. */
  readonly failure: (error: Tls13Failure | Error) => void
}

const certificateAlerts: Record<CertificateError["_tag"], AlertDescription> = {
  EmptyCertificateChain: AlertDescription.decode_error,
  MalformedCertificate: AlertDescription.bad_certificate,
  UntrustedRoot: AlertDescription.unknown_ca,
  CertificateExpired: AlertDescription.certificate_expired,
  CertificateNotYetValid: AlertDescription.bad_certificate,
  NotACa: AlertDescription.bad_certificate,
  BadSignature: AlertDescription.bad_certificate,
  HostnameMismatch: AlertDescription.bad_certificate
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

/** The alert to send for a failure we detected; undefined when the peer already knows (it alerted us). */
const alertForFailure = (error: unknown): AlertDescription | undefined => {
  const tag = tagOf(error)
  if (tag === undefined) return AlertDescription.internal_error
  if (isProtocolError(error)) return alertFor(error)
  if (tag in certificateAlerts) return certificateAlerts[tag as CertificateError["_tag"]]
  if (tag === "ClientCertificateFailed") return AlertDescription.internal_error
  if (tag === "HandshakeAborted") return AlertDescription.user_canceled
  return undefined
}

export class ClientConnection {
  private readonly records = new RecordLayer()
  private readonly handshake = new HandshakeReader()
  private readonly context: ClientContext
  private state: ClientState | undefined
  /** Set while a state waits for the application; records stay buffered meanwhile. */
  private waiting = false
  private finished = false
  private closeNotifyReceived = false

  constructor(
    config: ClientConfig,
    private readonly callbacks: ConnectionCallbacks
  ) {
    this.context = new ClientContext(config, {
      send: (contentType, data) => this.callbacks.write(this.records.encode(contentType, data)),
      setReadKey: (suite: CipherSuite, secret) => this.records.setReadKey(suite, secret),
      setWriteKey: (suite: CipherSuite, secret) => this.records.setWriteKey(suite, secret),
      requireRecordBoundary: () => {
        if (!this.handshake.isEmpty) {
          throw new UnexpectedMessage({ state: this.stateName, received: "handshake data across a key change" })
        }
      }
    })
  }

  private get stateName(): string {
    return this.state?.name ?? "Start"
  }

  get isConnected(): boolean {
    return this.state instanceof Connected
  }

  get isClosed(): boolean {
    return this.finished
  }

  /** The server sent close_notify: what was received is complete. */
  get peerClosed(): boolean {
    return this.closeNotifyReceived
  }

  /** Sends the ClientHello. */
  start(): void {
    this.guard(() => {
      this.state = startClientHandshake(this.context)
    })
  }

  receive(chunk: Buffer): void {
    if (this.finished || this.closeNotifyReceived) return
    this.records.receive(chunk)
    this.pump()
  }

  /** Application data; only valid once connected. */
  send(data: Uint8Array): void {
    if (this.finished) return
    this.callbacks.write(this.records.encode(ContentType.application_data, data))
  }

  /** Sends close_notify; the connection can still receive until the peer closes. */
  close(): void {
    if (this.finished) return
    this.callbacks.write(this.records.encode(ContentType.alert, encodeAlert(AlertDescription.close_notify)))
  }

  /** The transport ended: without a close_notify first, the stream was truncated. */
  transportEnded(): void {
    if (this.finished || this.closeNotifyReceived) return
    this.fail(new TruncatedStream({ phase: this.isConnected ? "data" : "handshake" }))
  }

  /** Ends the connection from outside (timeout, abort, transport error), alerting the peer when useful. */
  abort(error: Tls13Failure): void {
    this.fail(error)
  }

  private guard(action: () => void): void {
    try {
      action()
    } catch (error) {
      this.fail(error)
    }
  }

  private fail(error: unknown): void {
    if (this.finished) return
    this.finished = true
    const alert = alertForFailure(error)
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
        if (record === undefined) return
        this.dispatch(record.contentType, record.content)
      }
    })
  }

  private enter(next: ClientState): void {
    const completing = !this.isConnected && next instanceof Connected
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
