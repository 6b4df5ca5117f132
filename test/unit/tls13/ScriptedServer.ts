// A minimal TLS 1.3 server built from the engine's own pieces (record layer, key schedule, encoders), wired
// in memory to a ClientConnection. It lets tests do what Node's server cannot: send KeyUpdate, put a raw
// RA-TLS challenge in certificate_authorities, fragment its flight into tiny records.
import * as crypto from "node:crypto"
import { TLS_AES_128_GCM_SHA256 } from "../../../src/services/Tls13/CipherSuite.js"
import { ClientConnection, type ConnectionCallbacks } from "../../../src/services/Tls13/ClientConnection.js"
import type { ClientConfig } from "../../../src/services/Tls13/handshake/client/ClientConfig.js"
import { AlertDescription, encodeAlert } from "../../../src/services/Tls13/messages/Alert.js"
import { HandshakeReader, type HandshakeMessage } from "../../../src/services/Tls13/HandshakeReader.js"
import * as KeySchedule from "../../../src/services/Tls13/KeySchedule.js"
import { decodeCertificate, encodeCertificate } from "../../../src/services/Tls13/messages/Certificate.js"
import { type CertificateRequest, encodeCertificateRequest } from "../../../src/services/Tls13/messages/CertificateRequest.js"
import { decodeCertificateVerify, encodeCertificateVerify } from "../../../src/services/Tls13/messages/CertificateVerify.js"
import { decodeClientHello } from "../../../src/services/Tls13/messages/ClientHello.js"
import { encodeEmptyEncryptedExtensions } from "../../../src/services/Tls13/messages/EncryptedExtensions.js"
import { encodeFinished } from "../../../src/services/Tls13/messages/Finished.js"
import { encodeKeyUpdate, KeyUpdateRequest } from "../../../src/services/Tls13/messages/KeyUpdate.js"
import { encodeHelloRetryRequest, encodeServerHello } from "../../../src/services/Tls13/messages/ServerHello.js"
import { generateKeyShare, NamedGroup } from "../../../src/services/Tls13/NamedGroup.js"
import { ContentType, RecordLayer } from "../../../src/services/Tls13/RecordLayer.js"
import { RecordProtection } from "../../../src/services/Tls13/RecordProtection.js"
import * as Signature from "../../../src/services/Tls13/SignatureScheme.js"
import { TranscriptHash } from "../../../src/services/Tls13/TranscriptHash.js"
import type { Issued } from "./TestPki.js"

const suite = TLS_AES_128_GCM_SHA256

export interface ScriptOptions {
  readonly leaf: Issued
  /** Rewrites what the server sends before the client sees it (tampering tests). */
  readonly onTheWire?: (bytes: Buffer) => Buffer
  readonly certificateRequest?: CertificateRequest
  /** Answer the first ClientHello(s) with a HelloRetryRequest for this group and cookie. */
  readonly retry?: { readonly group: NamedGroup; readonly cookie: Uint8Array; readonly times: number }
  /** Cut the encrypted flight into records of this many bytes (default: one record). */
  readonly fragmentSize?: number
}

export interface ClientEvents {
  readonly data: Array<Buffer>
  readonly failures: Array<Error>
  connected: boolean
  closed: boolean
}

export class ScriptedServer {
  private readonly records = new RecordLayer()
  private readonly handshake = new HandshakeReader()
  private readonly transcript = new TranscriptHash()
  private phase: "hello" | "clientFlight" | "connected" = "hello"
  private secrets: KeySchedule.TrafficSecrets | undefined
  private application: KeySchedule.TrafficSecrets | undefined
  readonly received: Array<Buffer> = []
  readonly clientCertificates: Array<ReadonlyArray<Uint8Array>> = []
  clientSignatureVerified = false
  readonly echoedCookies: Array<Uint8Array | undefined> = []
  private retries = 0
  keyUpdatesReceived = 0

  constructor(
    private readonly options: ScriptOptions,
    private readonly deliver: (bytes: Buffer) => void
  ) {}

  /** What the server could not process (e.g. the client's alert after a failure); the server stops there. */
  readonly errors: Array<unknown> = []

  receive(bytes: Buffer): void {
    if (this.errors.length > 0) return
    try {
      this.process(bytes)
    } catch (error) {
      this.errors.push(error)
    }
  }

  private process(bytes: Buffer): void {
    this.records.receive(bytes)
    for (let record = this.records.next(); record !== undefined; record = this.records.next()) {
      if (record.contentType === ContentType.application_data) this.received.push(record.content)
      if (record.contentType !== ContentType.handshake) continue
      this.handshake.push(record.content)
      for (let message = this.handshake.next(); message !== undefined; message = this.handshake.next()) {
        this.onMessage(message)
      }
    }
  }

  private send(contentType: ContentType, data: Uint8Array): void {
    this.deliver(Buffer.concat(this.records.encode(contentType, data)))
  }

  private onMessage(message: HandshakeMessage): void {
    if (this.phase === "hello") return this.onClientHello(message)
    if (this.phase === "clientFlight") return this.onClientFlight(message)
    if (message.type === 24) {
      this.keyUpdatesReceived++
      this.application = { ...this.application!, client: KeySchedule.nextApplicationTrafficSecret(suite, this.application!.client) }
      this.records.setReadKey(suite, this.application.client)
    }
  }

  private onClientHello(message: HandshakeMessage): void {
    const hello = decodeClientHello(message.body)
    const retry = this.options.retry
    if (this.retries > 0) this.echoedCookies.push(hello.cookie)
    if (retry !== undefined && this.retries < retry.times) {
      this.retries++
      this.transcript.add(message.raw)
      this.transcript.replaceWithMessageHash(suite.hash)
      const request = encodeHelloRetryRequest({
        sessionIdEcho: hello.sessionId,
        cipherSuite: suite.code,
        selectedGroup: retry.group,
        cookie: retry.cookie
      })
      this.transcript.add(request)
      this.send(ContentType.handshake, request)
      return
    }
    const group = retry?.group ?? NamedGroup.x25519
    const clientShare = hello.keyShares.find((share) => share.group === group)!
    const ourShare = generateKeyShare(group)
    const shared = ourShare.deriveSharedSecret(clientShare.keyExchange)
    this.transcript.add(message.raw)
    const serverHello = encodeServerHello({
      random: crypto.randomBytes(32),
      sessionIdEcho: hello.sessionId,
      cipherSuite: suite.code,
      keyShare: { group: ourShare.group, keyExchange: ourShare.publicKey }
    })
    this.transcript.add(serverHello)
    this.transcript.useHash(suite.hash)
    this.send(ContentType.handshake, serverHello)
    const handshakeSecret = KeySchedule.handshakeSecret(suite, KeySchedule.earlySecret(suite), shared)
    this.secrets = KeySchedule.handshakeTrafficSecrets(suite, handshakeSecret, this.transcript.current())
    this.records.setReadKey(suite, this.secrets.client)
    const flight: Array<Uint8Array> = []
    const add = (handshakeMessage: Uint8Array) => {
      this.transcript.add(handshakeMessage)
      flight.push(handshakeMessage)
    }
    add(encodeEmptyEncryptedExtensions())
    if (this.options.certificateRequest !== undefined) add(encodeCertificateRequest(this.options.certificateRequest))
    add(encodeCertificate({ context: new Uint8Array(0), certificates: [this.options.leaf.certificateDer] }))
    const key = this.options.leaf.privateKey
    const scheme = Signature.chooseScheme(key, Signature.handshakeSignatureSchemes)!
    add(
      encodeCertificateVerify({
        scheme,
        signature: Signature.sign(scheme, key, Signature.signedContent("server", this.transcript.current()))
      })
    )
    add(encodeFinished(KeySchedule.finishedVerifyData(suite, this.secrets.server, this.transcript.current())))
    const protection = RecordProtection.fromTrafficSecret(suite, this.secrets.server)
    const bytes = Buffer.concat(flight)
    const size = this.options.fragmentSize ?? bytes.length
    const records: Array<Buffer> = []
    for (let offset = 0; offset < bytes.length; offset += size) {
      records.push(protection.seal(ContentType.handshake, bytes.subarray(offset, offset + size)))
    }
    this.deliver(Buffer.concat(records))
    this.application = KeySchedule.applicationTrafficSecrets(
      suite,
      KeySchedule.masterSecret(suite, handshakeSecret),
      this.transcript.current()
    )
    this.records.setWriteKey(suite, this.application.server)
    this.phase = "clientFlight"
  }

  private onClientFlight(message: HandshakeMessage): void {
    if (message.type === 11) {
      this.clientCertificates.push(decodeCertificate(message.body).certificates)
    } else if (message.type === 15) {
      const leaf = new crypto.X509Certificate(this.clientCertificates.at(-1)![0]!)
      const { scheme, signature } = decodeCertificateVerify(message.body)
      const content = Signature.signedContent("client", this.transcript.current())
      this.clientSignatureVerified = Signature.verifySignature(scheme, leaf.publicKey, content, signature)
    } else if (message.type === 20) {
      const expected = KeySchedule.finishedVerifyData(suite, this.secrets!.client, this.transcript.current())
      if (!Buffer.from(message.body).equals(expected)) throw new Error("client Finished does not verify")
      this.records.setReadKey(suite, this.application!.client)
      this.phase = "connected"
      return
    }
    this.transcript.add(message.raw)
  }

  sendApplicationData(data: Uint8Array): void {
    this.send(ContentType.application_data, data)
  }

  /** Sends KeyUpdate under the current key, then moves its own sending key forward. */
  sendKeyUpdate(requestUpdate: boolean): void {
    this.send(
      ContentType.handshake,
      encodeKeyUpdate(requestUpdate ? KeyUpdateRequest.update_requested : KeyUpdateRequest.update_not_requested)
    )
    this.application = { ...this.application!, server: KeySchedule.nextApplicationTrafficSecret(suite, this.application!.server) }
    this.records.setWriteKey(suite, this.application.server)
  }

  sendAlert(description: AlertDescription): void {
    this.send(ContentType.alert, encodeAlert(description))
  }
}

/** A ClientConnection and a ScriptedServer talking through asynchronous in-memory delivery. */
export const connectScripted = (config: ClientConfig, options: ScriptOptions) => {
  const events: ClientEvents = { data: [], failures: [], connected: false, closed: false }
  let server: ScriptedServer | undefined
  const callbacks: ConnectionCallbacks = {
    write: (records) => {
      const bytes = Buffer.concat(records)
      setImmediate(() => server!.receive(bytes))
    },
    handshakeComplete: () => {
      events.connected = true
    },
    data: (chunk) => events.data.push(chunk),
    closeNotify: () => {
      events.closed = true
    },
    failure: (error) => events.failures.push(error)
  }
  const client = new ClientConnection(config, callbacks)
  const onTheWire = options.onTheWire ?? ((bytes: Buffer) => bytes)
  server = new ScriptedServer(options, (bytes) => setImmediate(() => client.receive(onTheWire(bytes))))
  client.start()
  return { client, server, events }
}

/** Resolves once `condition` holds, checking after each turn of the event loop. */
export const until = (condition: () => boolean, turns = 1000): Promise<void> =>
  new Promise((resolve, reject) => {
    const check = (left: number) => {
      if (condition()) resolve()
      else if (left === 0) reject(new Error("condition not reached"))
      else setImmediate(() => check(left - 1))
    }
    check(turns)
  })
