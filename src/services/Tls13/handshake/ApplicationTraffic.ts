// The application traffic secrets of an established connection and their KeyUpdate ratchet (RFC 8446
// sections 4.6.3 and 7.2), the same for both roles: `sending` protects what we write, `receiving` what the
// peer writes. Each update makes a new value, so a Connected state stays immutable.
import type { CipherSuite } from "../CipherSuite.js"
import { nextApplicationTrafficSecret } from "../KeySchedule.js"
import { encodeKeyUpdate, KeyUpdateRequest } from "../messages/KeyUpdate.js"
import { ContentType } from "../RecordLayer.js"
import type { RecordOperations } from "./HandshakeContext.js"

/** How many times each direction has moved to a new key since the handshake. */
export interface KeyGenerations {
  readonly sent: number
  readonly received: number
}

export class ApplicationTraffic {
  constructor(
    readonly suite: CipherSuite,
    private readonly sending: Uint8Array,
    private readonly receiving: Uint8Array,
    readonly generations: KeyGenerations = { sent: 0, received: 0 }
  ) {}

  /** The peer's KeyUpdate: its key moves forward, and when it asks, ours follows with an answer. */
  peerUpdated(request: KeyUpdateRequest, records: RecordOperations): ApplicationTraffic {
    records.requireRecordBoundary()
    const receiving = nextApplicationTrafficSecret(this.suite, this.receiving)
    records.setReadKey(this.suite, receiving)
    const updated = new ApplicationTraffic(this.suite, this.sending, receiving, {
      ...this.generations,
      received: this.generations.received + 1
    })
    return request === KeyUpdateRequest.update_requested
      ? updated.update(KeyUpdateRequest.update_not_requested, records)
      : updated
  }

  /** Sends a KeyUpdate under the current key, then moves our sending key forward. */
  update(request: KeyUpdateRequest, records: RecordOperations): ApplicationTraffic {
    records.send(ContentType.handshake, encodeKeyUpdate(request))
    const sending = nextApplicationTrafficSecret(this.suite, this.sending)
    records.setWriteKey(this.suite, sending)
    return new ApplicationTraffic(this.suite, sending, this.receiving, {
      ...this.generations,
      sent: this.generations.sent + 1
    })
  }
}
