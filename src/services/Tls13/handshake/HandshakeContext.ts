// What every handshake state may act on, in either role: the configuration, the running transcript and the
// record layer operations (send, install keys). Owned by the connection; states hold no I/O of their own.
import type { CipherSuite } from "../CipherSuite.js"
import { ContentType } from "../RecordLayer.js"
import { TranscriptHash } from "../TranscriptHash.js"

export interface RecordOperations {
  send(contentType: ContentType, data: Uint8Array): void
  setReadKey(suite: CipherSuite, trafficSecret: Uint8Array): void
  setWriteKey(suite: CipherSuite, trafficSecret: Uint8Array): void
  /** Fails unless the last handshake message ended its record: keys may only change on a record boundary. */
  requireRecordBoundary(): void
}

export class HandshakeContext<Config> {
  readonly transcript = new TranscriptHash()

  constructor(
    readonly config: Config,
    readonly records: RecordOperations
  ) {}

  /** Sends a handshake message that belongs to the transcript. */
  sendHandshake(message: Uint8Array): void {
    this.transcript.add(message)
    this.records.send(ContentType.handshake, message)
  }
}
