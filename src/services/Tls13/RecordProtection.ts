// AEAD protection of one direction of records (RFC 8446 section 5.2-5.4): per-record nonce = IV xor sequence
// number, the record header as additional data, the real content type and zero padding inside the ciphertext.
// One instance per traffic secret; a key change (handshake -> application, KeyUpdate) makes a new one.
import * as crypto from "node:crypto"
import { type CipherSuite, tagLength } from "./CipherSuite.js"
import { trafficKeys } from "./KeySchedule.js"
import { BadRecordMac, RecordOverflow, UnexpectedMessage } from "./Tls13Error.js"

export const maxPlaintextLength = 2 ** 14
export const maxCiphertextLength = 2 ** 14 + 256
const applicationDataType = 23

export interface OpenedRecord {
  readonly contentType: number
  readonly content: Buffer
}

export class RecordProtection {
  private sequence = 0

  constructor(
    readonly suite: CipherSuite,
    private readonly key: Uint8Array,
    private readonly iv: Uint8Array
  ) {}

  static fromTrafficSecret(suite: CipherSuite, secret: Uint8Array): RecordProtection {
    const { iv, key } = trafficKeys(suite, secret)
    return new RecordProtection(suite, key, iv)
  }

  private nextNonce(): Buffer {
    const nonce = Buffer.from(this.iv)
    let sequence = this.sequence++
    for (let i = nonce.length - 1; i >= nonce.length - 8 && sequence > 0; i--) {
      nonce[i]! ^= sequence % 256
      sequence = Math.floor(sequence / 256)
    }
    return nonce
  }

  private options(): crypto.CipherGCMOptions {
    return { authTagLength: tagLength }
  }

  /** Node types only GCM names for AEAD ciphers; chacha20-poly1305 takes the same options and calls. */
  private aeadName(): crypto.CipherGCMTypes {
    return this.suite.aead as crypto.CipherGCMTypes
  }

  /** A complete TLSCiphertext record carrying `content` of the given type, with `padding` zero bytes. */
  seal(contentType: number, content: Uint8Array, padding = 0): Buffer {
    const innerLength = content.length + 1 + padding
    const length = innerLength + tagLength
    const record = Buffer.allocUnsafe(5 + length)
    record[0] = applicationDataType
    record[1] = 3
    record[2] = 3
    record.writeUInt16BE(length, 3)
    const cipher = crypto.createCipheriv(this.aeadName(), this.key, this.nextNonce(), this.options()) as crypto.CipherGCM
    cipher.setAAD(record.subarray(0, 5))
    let offset = 5
    offset += cipher.update(content).copy(record, offset)
    const trailer = Buffer.alloc(1 + padding)
    trailer[0] = contentType
    offset += cipher.update(trailer).copy(record, offset)
    offset += cipher.final().copy(record, offset)
    cipher.getAuthTag().copy(record, offset)
    return record
  }

  /** Decrypts one TLSCiphertext given its 5-byte header and body; fails on a bad tag or an empty content type. */
  open(header: Uint8Array, body: Uint8Array): OpenedRecord {
    const sequenceNumber = this.sequence
    if (body.length < tagLength + 1) throw new BadRecordMac({ sequenceNumber })
    const decipher = crypto.createDecipheriv(
      this.aeadName(),
      this.key,
      this.nextNonce(),
      this.options()
    ) as crypto.DecipherGCM
    decipher.setAAD(header)
    decipher.setAuthTag(body.subarray(body.length - tagLength))
    let plaintext: Buffer
    try {
      const head = decipher.update(body.subarray(0, body.length - tagLength))
      const tail = decipher.final()
      plaintext = tail.length === 0 ? head : Buffer.concat([head, tail])
    } catch {
      throw new BadRecordMac({ sequenceNumber })
    }
    let end = plaintext.length - 1
    while (end >= 0 && plaintext[end] === 0) end--
    if (end < 0) throw new UnexpectedMessage({ state: "record layer", received: "record without a content type" })
    if (end > maxPlaintextLength) throw new RecordOverflow({ length: end, limit: maxPlaintextLength })
    return { contentType: plaintext[end]!, content: plaintext.subarray(0, end) }
  }
}
