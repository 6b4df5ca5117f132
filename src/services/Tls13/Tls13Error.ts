// The failures a TLS 1.3 connection can end with, as tagged data.
// Each error knows the alert the engine sends to the peer before closing, so the state machine
// only has to fail with the right error and the connection takes care of the wire.
import { Data } from "effect"
import { AlertDescription } from "./messages/Alert.js"

/** Bytes from the peer that do not parse as the structure they claim to be. */
export class DecodeError extends Data.TaggedError("DecodeError")<{ readonly reason: string }> {
  override get message() {
    return `malformed TLS data: ${this.reason}`
  }
}

/** A message or record that is well formed but not allowed at this point of the protocol. */
export class UnexpectedMessage extends Data.TaggedError("UnexpectedMessage")<{
  readonly state: string
  readonly received: string
}> {
  override get message() {
    return `unexpected ${this.received} while in ${this.state}`
  }
}

/** A value the peer chose that we did not offer or that the protocol forbids. */
export class IllegalParameter extends Data.TaggedError("IllegalParameter")<{ readonly reason: string }> {
  override get message() {
    return `illegal parameter from peer: ${this.reason}`
  }
}

/** No parameters both sides support (suite, group, signature scheme, version). */
export class HandshakeFailure extends Data.TaggedError("HandshakeFailure")<{ readonly reason: string }> {
  override get message() {
    return `handshake failure: ${this.reason}`
  }
}

/** The peer does not speak TLS 1.3 (a ClientHello without 0x0304 in supported_versions). */
export class UnsupportedVersion extends Data.TaggedError("UnsupportedVersion")<{ readonly offered: ReadonlyArray<number> }> {
  override get message() {
    const offered = this.offered.map((version) => `0x${version.toString(16)}`).join(", ")
    return `peer does not offer TLS 1.3 (offered: ${offered === "" ? "none" : offered})`
  }
}

/** A record whose authentication tag does not verify: corrupted or tampered in transit. */
export class BadRecordMac extends Data.TaggedError("BadRecordMac")<{ readonly sequenceNumber: number }> {
  override get message() {
    return `record ${this.sequenceNumber} failed authentication (tampered or corrupted)`
  }
}

/** A record larger than TLS 1.3 allows. */
export class RecordOverflow extends Data.TaggedError("RecordOverflow")<{ readonly length: number; readonly limit: number }> {
  override get message() {
    return `record of ${this.length} bytes exceeds the limit of ${this.limit}`
  }
}

/** A Finished MAC or a CertificateVerify signature that does not verify. */
export class DecryptError extends Data.TaggedError("DecryptError")<{ readonly reason: string }> {
  override get message() {
    return `handshake verification failed: ${this.reason}`
  }
}

/** The peer sent a fatal alert (or a warning other than close_notify / user_canceled). */
export class AlertReceived extends Data.TaggedError("AlertReceived")<{
  readonly description: number
  readonly alert: string
}> {
  override get message() {
    return `peer sent alert ${this.alert} (${this.description})`
  }
}

/** The transport ended before the handshake finished or without a close_notify. */
export class TruncatedStream extends Data.TaggedError("TruncatedStream")<{ readonly phase: "handshake" | "data" }> {
  override get message() {
    return `connection closed by peer without close_notify during ${this.phase}`
  }
}

/** The handshake did not finish within the configured time or was aborted by the caller. */
export class HandshakeAborted extends Data.TaggedError("HandshakeAborted")<{ readonly reason: "timeout" | "aborted" }> {
  override get message() {
    return this.reason === "timeout" ? "TLS handshake timed out" : "TLS handshake aborted"
  }
}

/** The client certificate callback failed; the handshake cannot go on without its answer. */
export class ClientCertificateFailed extends Data.TaggedError("ClientCertificateFailed")<{ readonly cause: unknown }> {
  override get message() {
    return `client certificate callback failed: ${String(this.cause)}`
  }
}

/** The transport (TCP) failed underneath the TLS connection. */
export class TransportError extends Data.TaggedError("TransportError")<{ readonly cause: unknown }> {
  override get message() {
    return `transport error: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

export type ProtocolError =
  | DecodeError
  | UnexpectedMessage
  | IllegalParameter
  | HandshakeFailure
  | UnsupportedVersion
  | BadRecordMac
  | RecordOverflow
  | DecryptError

const protocolTags: ReadonlySet<string> = new Set<ProtocolError["_tag"]>([
  "DecodeError",
  "UnexpectedMessage",
  "IllegalParameter",
  "HandshakeFailure",
  "UnsupportedVersion",
  "BadRecordMac",
  "RecordOverflow",
  "DecryptError"
])

export const isProtocolError = (error: unknown): error is ProtocolError =>
  typeof error === "object" && error !== null && "_tag" in error && protocolTags.has(String(error._tag))

/** The alert that reports a locally detected protocol error to the peer. */
export const alertFor = (error: ProtocolError): AlertDescription => {
  switch (error._tag) {
    case "DecodeError":
      return AlertDescription.decode_error
    case "UnexpectedMessage":
      return AlertDescription.unexpected_message
    case "IllegalParameter":
      return AlertDescription.illegal_parameter
    case "HandshakeFailure":
      return AlertDescription.handshake_failure
    case "UnsupportedVersion":
      return AlertDescription.protocol_version
    case "BadRecordMac":
      return AlertDescription.bad_record_mac
    case "RecordOverflow":
      return AlertDescription.record_overflow
    case "DecryptError":
      return AlertDescription.decrypt_error
  }
}
