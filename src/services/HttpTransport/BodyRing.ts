// Reused memory for the chunks of a transient response body (`HttpRequest.transientBody`): each chunk is a
// view of a ring, either read into it straight from the socket (DirectGet: `reserve`, `commit`) or copied
// into it from the buffer another reader delivered (`copy`). The consumer promises to be done with a chunk
// when it pulls again, so every pull releases what the previous pull handed out.
//
// Why: a body's socket buffers are fresh allocations. When the consumer is slower than the network they wait
// long enough for V8 to promote them to the old generation, where only a full collection frees their memory;
// measured on a 200 MiB pull, that was a dozen full collections (marking the whole heap each time) and tens
// of MiB of dead buffers in the resident set. Copied into a ring, the socket buffers die young and the
// body's bytes always live in the same few MiB.

/** Bytes of one ring: twice what the body buffers before pausing the socket, and room to spare. */
export const ringBytes = 4 * 1024 * 1024

/**
 * The rings of one transport that outlive their responses, so that the next body reuses memory already
 * touched (a fresh page costs a fault). A few at most; they go with the transport.
 */
export class SpareRings {
  private readonly rings: Array<Buffer> = []

  constructor(private readonly max = 4) {}

  take(): Buffer | undefined {
    return this.rings.pop()
  }

  give(memory: Buffer) {
    if (this.rings.length < this.max) this.rings.push(memory)
  }

  clear() {
    this.rings.length = 0
  }
}

export class BodyRing {
  private memory: Buffer | undefined
  // Where the chunks in use start, oldest first; they are contiguous (wrapping) and end at `head`.
  private readonly starts: Array<number> = []
  // How many chunks, from the front, the last pull handed out.
  private handedOut = 0
  private head = 0
  // Whether the last region of `starts` is reserved for a read still to come (not a chunk yet).
  private reserving = false

  constructor(private readonly spares: SpareRings) {
    this.memory = spares.take()
  }

  /** A copy of `chunk`: a view of the ring when there is room, a fresh buffer when there is not. */
  copy(chunk: Uint8Array): Uint8Array {
    const region = this.reserve(chunk.length)
    if (region === undefined) return Uint8Array.prototype.slice.call(chunk)
    region.set(chunk)
    return this.commit(chunk.length)
  }

  /**
   * A region of `length` bytes for the socket to read into, held until `commit`; undefined when the chunks
   * in use leave no room for it.
   */
  reserve(length: number): Uint8Array | undefined {
    const at = this.place(length)
    if (at < 0) return undefined
    const memory = this.memory ??= Buffer.allocUnsafeSlow(ringBytes)
    this.starts.push(at)
    this.head = at + length
    this.reserving = true
    return memory.subarray(at, at + length)
  }

  /** The first `length` bytes of the reserved region were read: they are a chunk from now on. */
  commit(length: number): Uint8Array {
    const at = this.starts[this.starts.length - 1]!
    this.head = at + length
    this.reserving = false
    return this.memory!.subarray(at, at + length)
  }

  /** Whether a region of `length` bytes could be reserved now. */
  fits(length: number): boolean {
    return this.place(length) >= 0
  }

  /** A pull began: the chunks the previous pull handed out are free again. */
  pullStarted() {
    this.starts.splice(0, this.handedOut)
    this.handedOut = 0
  }

  /** A pull hands out every chunk so far (not a region still reserved). */
  handOut() {
    this.handedOut = this.starts.length - (this.reserving ? 1 : 0)
  }

  /** A pull that hands out every chunk copied so far; the chunks the previous pull handed out are free again. */
  pulled() {
    this.pullStarted()
    this.handOut()
  }

  /** The body is over: the ring goes back to the spares (no chunk of it is read any more). */
  close() {
    const memory = this.memory
    this.memory = undefined
    this.starts.length = 0
    this.handedOut = 0
    this.reserving = false
    if (memory !== undefined) this.spares.give(memory)
  }

  // Where `length` bytes fit without touching a region in use, or -1.
  private place(length: number): number {
    if (length === 0 || length > ringBytes) return -1
    const oldest = this.starts[0]
    if (oldest === undefined) return 0
    // The regions in use run from `oldest` to `head`, wrapping past the end when head <= oldest.
    if (this.head > oldest) {
      if (ringBytes - this.head >= length) return this.head
      return oldest >= length ? 0 : -1
    }
    return oldest - this.head >= length ? this.head : -1
  }
}
