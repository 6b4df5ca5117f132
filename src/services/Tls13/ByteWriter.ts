// Builds TLS structures for sending: integers and length-prefixed vectors in network order.
// Only used for handshake messages and small records, so a growable buffer is enough.
export class ByteWriter {
  private buffer = new Uint8Array(256)
  private length = 0

  private reserve(count: number): void {
    if (this.length + count <= this.buffer.length) return
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + count))
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
  }

  u8(value: number): this {
    this.reserve(1)
    this.buffer[this.length++] = value & 0xff
    return this
  }

  u16(value: number): this {
    return this.u8(value >>> 8).u8(value)
  }

  u24(value: number): this {
    return this.u8(value >>> 16).u16(value & 0xffff)
  }

  u32(value: number): this {
    return this.u16(Math.floor(value / 0x10000)).u16(value & 0xffff)
  }

  bytes(value: Uint8Array): this {
    this.reserve(value.length)
    this.buffer.set(value, this.length)
    this.length += value.length
    return this
  }

  /** Writes what `body` writes, preceded by its length on `prefixBytes` bytes. */
  vector(prefixBytes: 1 | 2 | 3, body: (writer: ByteWriter) => void): this {
    const start = this.length
    for (let i = 0; i < prefixBytes; i++) this.u8(0)
    body(this)
    const size = this.length - start - prefixBytes
    if (size >= 2 ** (8 * prefixBytes)) throw new RangeError(`vector of ${size} bytes does not fit ${prefixBytes} bytes`)
    for (let i = 0; i < prefixBytes; i++) this.buffer[start + i] = (size >>> (8 * (prefixBytes - 1 - i))) & 0xff
    return this
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length)
  }
}
