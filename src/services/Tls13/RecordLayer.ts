// TLSPlaintext / TLSCiphertext framing over a byte stream (RFC 8446 section 5): splits incoming bytes into
// records without copying unless a record spans network chunks, removes protection once keys are installed,
// and fragments and protects outgoing data.
import type { CipherSuite } from "./CipherSuite.js"
import { maxCiphertextLength, maxPlaintextLength, type OpenedRecord, RecordProtection } from "./RecordProtection.js"
import { DecodeError, RecordOverflow, UnexpectedMessage } from "./Tls13Error.js"

export const ContentType = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23
} as const
export type ContentType = (typeof ContentType)[keyof typeof ContentType]

const headerLength = 5

interface RawRecord {
  readonly type: number
  readonly header: Buffer
  readonly body: Buffer
}

/** Cuts a stream of chunks into records; a record inside one chunk is returned as a view of that chunk. */
export class RecordReader {
  private chunks: Array<Buffer> = []
  private head = 0
  private size = 0

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.size += chunk.length
  }

  next(): RawRecord | undefined {
    if (this.size < headerLength) return undefined
    const first = this.chunks[0]!
    const header = first.length - this.head >= headerLength ? first.subarray(this.head) : this.copyOut(headerLength)
    const type = header[0]!
    if (type < ContentType.change_cipher_spec || type > ContentType.application_data) {
      throw new DecodeError({ reason: `record of unknown content type ${type}` })
    }
    if (header[1] !== 3) throw new DecodeError({ reason: `record with legacy version ${header[1]}.${header[2]}` })
    const length = (header[3]! << 8) | header[4]!
    if (length > maxCiphertextLength) throw new RecordOverflow({ length, limit: maxCiphertextLength })
    if (this.size < headerLength + length) return undefined
    const record = this.take(headerLength + length)
    return { type, header: record.subarray(0, headerLength), body: record.subarray(headerLength) }
  }

  /** A copy of the next `count` bytes, without consuming them. */
  private copyOut(count: number): Buffer {
    const out = Buffer.allocUnsafe(count)
    let filled = 0
    let offset = this.head
    for (const chunk of this.chunks) {
      filled += chunk.copy(out, filled, offset, Math.min(chunk.length, offset + count - filled))
      offset = 0
      if (filled === count) break
    }
    return out
  }

  private take(count: number): Buffer {
    const first = this.chunks[0]!
    let out: Buffer
    if (first.length - this.head >= count) {
      out = first.subarray(this.head, this.head + count)
      this.head += count
    } else {
      out = this.copyOut(count)
      let skip = count + this.head
      while (skip > 0 && skip >= this.chunks[0]!.length) skip -= this.chunks.shift()!.length
      this.head = skip
    }
    if (this.chunks.length > 0 && this.head === this.chunks[0]!.length) {
      this.chunks.shift()
      this.head = 0
    }
    this.size -= count
    return out
  }
}

const plaintextRecord = (type: number, fragment: Uint8Array): Buffer => {
  const record = Buffer.allocUnsafe(headerLength + fragment.length)
  record[0] = type
  record[1] = 3
  record[2] = type === ContentType.handshake ? 1 : 3
  record.writeUInt16BE(fragment.length, 3)
  record.set(fragment, headerLength)
  return record
}

export class RecordLayer {
  private readonly reader = new RecordReader()
  private readProtection: RecordProtection | undefined
  private writeProtection: RecordProtection | undefined

  receive(chunk: Buffer): void {
    this.reader.push(chunk)
  }

  setReadKey(suite: CipherSuite, trafficSecret: Uint8Array): void {
    this.readProtection = RecordProtection.fromTrafficSecret(suite, trafficSecret)
  }

  setWriteKey(suite: CipherSuite, trafficSecret: Uint8Array): void {
    this.writeProtection = RecordProtection.fromTrafficSecret(suite, trafficSecret)
  }

  /**
   * The next complete record with protection removed, or undefined when more bytes are needed.
   * change_cipher_spec records come out as they are: whether one is allowed is the handshake's call.
   */
  next(): OpenedRecord | undefined {
    const record = this.reader.next()
    if (record === undefined) return undefined
    if (record.type === ContentType.change_cipher_spec) return { contentType: record.type, content: record.body }
    if (this.readProtection === undefined) {
      if (record.type === ContentType.application_data) {
        throw new UnexpectedMessage({ state: "unprotected record layer", received: "application_data record" })
      }
      if (record.body.length > maxPlaintextLength) {
        throw new RecordOverflow({ length: record.body.length, limit: maxPlaintextLength })
      }
      if (record.body.length === 0) throw new DecodeError({ reason: "empty handshake or alert record" })
      return { contentType: record.type, content: record.body }
    }
    if (record.type !== ContentType.application_data) {
      throw new UnexpectedMessage({ state: "protected record layer", received: `plaintext record of type ${record.type}` })
    }
    return this.readProtection.open(record.header, record.body)
  }

  /** Records carrying `data`, fragmented to the plaintext limit and protected when a write key is set. */
  encode(contentType: ContentType, data: Uint8Array): Array<Buffer> {
    const records: Array<Buffer> = []
    let offset = 0
    do {
      const fragment = data.subarray(offset, Math.min(data.length, offset + maxPlaintextLength))
      records.push(
        this.writeProtection === undefined
          ? plaintextRecord(contentType, fragment)
          : this.writeProtection.seal(contentType, fragment)
      )
      offset += maxPlaintextLength
    } while (offset < data.length)
    return records
  }
}
