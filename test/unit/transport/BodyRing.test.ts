// The ring that a transient response body's chunks are copied into: a chunk handed out by a pull keeps its
// bytes until the pull after it, and then its memory is used again.
import { describe, expect, it } from "vitest"
import { BodyRing, ringBytes, SpareRings } from "../../../src/services/HttpTransport/BodyRing.js"

const bytes = (length: number, value: number) => Buffer.alloc(length, value)

describe("BodyRing", () => {
  it("hands out copies, and reuses their memory once the pull after theirs has happened", () => {
    const ring = new BodyRing(new SpareRings())
    const source = bytes(1000, 1)
    const first = ring.copy(source)
    source.fill(9)
    expect(Buffer.from(first).equals(bytes(1000, 1))).toBe(true)
    ring.pulled() // hands out `first`
    // The ring fills up to its end with the chunks of later pulls, then wraps to where `first` was.
    const rest: Array<Uint8Array> = []
    let used = 1000
    for (; used + 500_000 <= ringBytes; used += 500_000) rest.push(ring.copy(bytes(500_000, 2)))
    rest.push(ring.copy(bytes(ringBytes - used - 10, 2)))
    ring.pulled() // hands out `rest`; `first` is free
    const wrapped = ring.copy(bytes(1000, 3))
    expect(wrapped.buffer).toBe(first.buffer)
    expect(wrapped.byteOffset).toBe(first.byteOffset)
    expect(Buffer.from(first).equals(bytes(1000, 3))).toBe(true)
    for (const chunk of rest) expect(Buffer.from(chunk).equals(bytes(chunk.length, 2))).toBe(true)
  })

  it("never overwrites a chunk of the current or the previous pull (random sizes, many pulls)", () => {
    const ring = new BodyRing(new SpareRings())
    let seed = 42
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0
      return seed % n
    }
    let previous: Array<[Uint8Array, number]> = []
    let current: Array<[Uint8Array, number]> = []
    let fresh = 0
    for (let pull = 0; pull < 600; pull++) {
      const count = 1 + random(20)
      for (let i = 0; i < count; i++) {
        const value = random(256)
        const chunk = ring.copy(bytes(1 + random(70_000), value))
        if (chunk.buffer.byteLength !== ringBytes) fresh++
        current.push([chunk, value])
      }
      for (const [chunk, value] of [...previous, ...current]) {
        expect(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).equals(bytes(chunk.length, value))).toBe(true)
      }
      ring.pulled()
      previous = current
      current = []
    }
    // Up to 20 chunks of 70 KB per pull fit twice over: the ring never had to fall back to fresh copies.
    expect(fresh).toBe(0)
  })

  it("copies into fresh memory what does not fit", () => {
    const ring = new BodyRing(new SpareRings())
    const huge = ring.copy(bytes(ringBytes + 1, 5))
    expect(huge.buffer.byteLength).toBe(ringBytes + 1)
    const a = ring.copy(bytes(ringBytes - 10, 6))
    const b = ring.copy(bytes(100, 7)) // no room left before the next pull
    expect(b.buffer).not.toBe(a.buffer)
    expect(Buffer.from(a).equals(bytes(a.length, 6))).toBe(true)
    expect(Buffer.from(b).equals(bytes(100, 7))).toBe(true)
  })

  it("gives its memory to the next body once closed, up to the spares' limit", () => {
    const spares = new SpareRings(1)
    const first = new BodyRing(spares)
    const a = first.copy(bytes(10, 1))
    first.close()
    const second = new BodyRing(spares)
    const b = second.copy(bytes(10, 2))
    expect(b.buffer).toBe(a.buffer)
    const third = new BodyRing(spares) // none spare: its own memory
    expect(third.copy(bytes(10, 3)).buffer).not.toBe(a.buffer)
  })
})
