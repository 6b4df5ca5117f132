// Reassembles handshake messages from handshake record contents (RFC 8446 section 5.1): a message may be
// fragmented across records and several may be coalesced in one.
import { DecodeError } from "./Tls13Error.js"

export interface HandshakeMessage {
  readonly type: number
  /** The message body, without the 4-byte header. */
  readonly body: Uint8Array
  /** The whole message, header included, as it enters the transcript. */
  readonly raw: Uint8Array
}

/** Larger than any certificate chain a registry sends; bounds memory against a hostile length. */
export const maxHandshakeMessageLength = 2 ** 18

export class HandshakeReader {
  private pending: Buffer = Buffer.alloc(0)

  push(fragment: Buffer): void {
    this.pending = this.pending.length === 0 ? fragment : Buffer.concat([this.pending, fragment])
  }

  /** True when no partial message is waiting: keys may only change on a message boundary. */
  get isEmpty(): boolean {
    return this.pending.length === 0
  }

  next(): HandshakeMessage | undefined {
    if (this.pending.length < 4) return undefined
    const length = this.pending.readUIntBE(1, 3)
    if (length > maxHandshakeMessageLength) {
      throw new DecodeError({ reason: `handshake message of ${length} bytes exceeds ${maxHandshakeMessageLength}` })
    }
    if (this.pending.length < 4 + length) return undefined
    const raw = this.pending.subarray(0, 4 + length)
    this.pending = this.pending.subarray(4 + length)
    return { type: raw[0]!, body: raw.subarray(4), raw }
  }
}
