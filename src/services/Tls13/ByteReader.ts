// A bounds-checked cursor over received bytes, for the TLS presentation language (RFC 8446 section 3).
// Every read that would run past the end fails with a DecodeError naming the field, so decoders never read
// out of bounds and never surface a raw exception.
import { DecodeError } from "./Tls13Error.js"

export class ByteReader {
  private offset = 0

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset
  }

  private need(count: number, field: string): void {
    if (count > this.remaining) {
      throw new DecodeError({ reason: `${field}: needs ${count} bytes, ${this.remaining} left` })
    }
  }

  u8(field: string): number {
    this.need(1, field)
    return this.bytes[this.offset++]!
  }

  u16(field: string): number {
    this.need(2, field)
    const value = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!
    this.offset += 2
    return value
  }

  u24(field: string): number {
    this.need(3, field)
    const value = (this.bytes[this.offset]! << 16) | (this.bytes[this.offset + 1]! << 8) | this.bytes[this.offset + 2]!
    this.offset += 3
    return value
  }

  u32(field: string): number {
    this.need(4, field)
    const value = this.u16(field) * 0x10000
    return value + this.u16(field)
  }

  /** A view (not a copy) of the next `count` bytes. */
  bytesOf(count: number, field: string): Uint8Array {
    this.need(count, field)
    const view = this.bytes.subarray(this.offset, this.offset + count)
    this.offset += count
    return view
  }

  /** A variable-length vector with a 1, 2 or 3 byte length prefix. */
  vector(prefixBytes: 1 | 2 | 3, field: string, minimum = 0): Uint8Array {
    const length = prefixBytes === 1 ? this.u8(field) : prefixBytes === 2 ? this.u16(field) : this.u24(field)
    if (length < minimum) throw new DecodeError({ reason: `${field}: length ${length} below minimum ${minimum}` })
    return this.bytesOf(length, field)
  }

  /** A vector whose content is read with its own reader, which must be consumed entirely. */
  nested<A>(prefixBytes: 1 | 2 | 3, field: string, read: (reader: ByteReader) => A, minimum = 0): A {
    const inner = new ByteReader(this.vector(prefixBytes, field, minimum))
    const value = read(inner)
    inner.end(field)
    return value
  }

  /** Reads items until the reader is exhausted. */
  each<A>(read: (reader: ByteReader) => A): Array<A> {
    const items: Array<A> = []
    while (this.remaining > 0) items.push(read(this))
    return items
  }

  end(field: string): void {
    if (this.remaining !== 0) throw new DecodeError({ reason: `${field}: ${this.remaining} trailing bytes` })
  }
}
