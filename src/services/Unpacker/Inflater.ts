// Decompressors for layer blobs (gzip, zstd, or none), driven by callbacks rather than streams so that the
// layer pipe can move bytes without a stream step per chunk. Each takes compressed bytes through `write`,
// says through `saturated` when it wants no more for now (and through `drain` when it does again), and
// hands its output to `data`, which may refuse more (the tar reader is held); `pump` then goes on. A chunk
// handed to `data` and taken may be overwritten afterwards: the output copies what it keeps.
import { Decompress } from "fzstd"
import * as zlib from "node:zlib"
import type * as MediaType from "../../domain/MediaType.js"

export interface InflaterOutput {
  /** Takes uncompressed bytes; false when it takes no more until `pump` is called. */
  readonly data: (chunk: Uint8Array) => boolean
  /** All output was delivered and taken: never called while `data` has refused a chunk and no `pump` followed. */
  readonly end: () => void
  readonly error: (cause: unknown) => void
  /** `saturated` may have turned false. */
  readonly drain: () => void
}

export interface Inflater {
  /**
   * Takes `chunk`. An inflater may keep a view of it while it is `saturated`, so its memory must stay as it
   * is until `saturated` turns false (the layer pipe pulls the next bytes, and lets their source reuse the
   * memory, only then); afterwards the caller may reuse it.
   */
  readonly write: (chunk: Uint8Array) => void
  readonly saturated: boolean
  readonly end: () => void
  /** Delivers output held back since `data` refused it. */
  readonly pump: () => void
  readonly destroy: () => void
}

// The stream inflater (GzipInflater, where GzipSyncInflater cannot run): gunzip's output comes in chunks of
// this size, and it inflates up to `gzipReadAhead` of them ahead of the reader, on the thread pool. Its input goes in batches of
// `gzipInputBatch` bytes (chunks are copied into reused buffers), up to `gzipInputQueue` ahead: each write is
// at least one thread-pool job, and a job per 64 KiB socket read costs more in thread wake-ups than the
// inflating.
const gzipOutputChunk = 256 * 1024
const gzipReadAhead = 8
const gzipInputBatch = 1024 * 1024
const gzipInputQueue = 3

// zstd gets its input in slices of this size, which bounds what one slice can inflate to before the
// reader's size limit gets a say (a zstd RLE block turns 4 bytes into 128 KiB).
const zstdSlice = 1024

class GzipInflater implements Inflater {
  private readonly gunzip = zlib.createGunzip({
    chunkSize: gzipOutputChunk,
    readableObjectMode: true,
    readableHighWaterMark: gzipReadAhead
  } as zlib.ZlibOptions)
  // Batch buffers whose bytes gunzip has consumed; pieces written whose callback has not come yet.
  private readonly free: Array<Buffer> = []
  private inFlight = 0
  private batch: Buffer | undefined = undefined
  private fill = 0
  private refused = false
  // gunzip's own end comes once its last chunk was read, which may be a chunk the output refused: the end
  // is announced only after that chunk was taken (the tar reader is still holding part of it).
  private ended = false
  private announced = false

  constructor(private readonly output: InflaterOutput) {
    this.gunzip.on("readable", () => {
      if (!this.refused) this.pump()
    })
    this.gunzip.on("end", () => {
      this.ended = true
      if (!this.refused) this.announce()
    })
    this.gunzip.on("error", (cause) => output.error(cause))
  }

  get saturated(): boolean {
    return this.inFlight >= gzipInputQueue
  }

  write(chunk: Uint8Array) {
    let at = 0
    while (at < chunk.length) {
      const batch = this.batch ??= this.free.pop() ?? Buffer.allocUnsafeSlow(gzipInputBatch)
      const n = Math.min(chunk.length - at, batch.length - this.fill)
      batch.set(chunk.subarray(at, at + n), this.fill)
      this.fill += n
      at += n
      if (this.fill === batch.length) this.submit()
    }
  }

  private submit() {
    const batch = this.batch
    if (batch === undefined || this.fill === 0) return
    this.batch = undefined
    const piece = batch.subarray(0, this.fill)
    this.fill = 0
    this.send(piece, batch)
  }

  // gunzip reads a piece in place until the write's callback; its batch buffer is free again after it.
  private send(piece: Uint8Array, batch: Buffer) {
    this.inFlight += 1
    this.gunzip.write(piece, () => {
      this.inFlight -= 1
      this.free.push(batch)
      this.output.drain()
    })
  }

  end() {
    this.submit()
    this.gunzip.end()
  }

  pump() {
    this.refused = false
    let chunk: Uint8Array | null
    while ((chunk = this.gunzip.read() as Uint8Array | null) !== null) {
      if (!this.output.data(chunk)) {
        this.refused = true
        return
      }
    }
    if (this.ended) this.announce()
  }

  private announce() {
    if (this.announced) return
    this.announced = true
    this.output.end()
  }

  destroy() {
    this.gunzip.destroy()
  }
}


// The zlib stream's handle, driven synchronously into memory of our own (see GzipSyncInflater).
interface ZlibHandle {
  readonly writeSync: (
    flush: number, input: Uint8Array, inOffset: number, inLength: number,
    output: Uint8Array, outOffset: number, outLength: number
  ) => void
}

const syncOutputBytes = 256 * 1024

/**
 * gunzip on the main thread, into one reused output buffer: Node's zlib handle (the one its gunzip stream
 * drives) is written to synchronously, each output chunk handed on before the next is inflated. Node's
 * stream writes every 256 KiB of output into a fresh buffer, on the thread pool, with a main-thread
 * callback per buffer; measured here on the bench image (305 MiB), this way took 9% less wall time and CPU
 * time and 26 MiB less memory: fresh memory costs a page fault per 4 KiB (~20 us each on a virtual machine
 * like this one: 200 MiB of them is a second), and every hand-off wakes two threads. Input that cannot go
 * in yet (the output refused a chunk) waits as views of its chunks, which stay valid while the inflater is
 * saturated. Multi-member streams and trailing zero
 * padding are handled as Node's gunzip handles them (by the same native code).
 */
class GzipSyncInflater implements Inflater {
  private readonly gunzip = zlib.createGunzip()
  private readonly handle: ZlibHandle
  private readonly state: Uint32Array
  private readonly out = Buffer.allocUnsafeSlow(syncOutputBytes)
  // Input not inflated yet, oldest first, the first from `head`: views of the chunks written, which stay
  // valid while the inflater is saturated (see `Inflater.write`).
  private readonly queue: Array<Uint8Array> = []
  private head = 0
  private refused = false
  private ending = false
  private ended = false
  private failed = false

  constructor(private readonly output: InflaterOutput) {
    const internals = this.gunzip as unknown as { _handle: ZlibHandle; _writeState: Uint32Array }
    this.handle = internals._handle
    this.state = internals._writeState
    // Failures are read right after each step (`errored`); the event would come later.
    this.gunzip.on("error", () => undefined)
  }

  get saturated(): boolean {
    return this.refused || this.queue.length > 0
  }

  write(chunk: Uint8Array) {
    if (this.failed) return
    if (this.saturated) {
      this.queue.push(chunk)
      return
    }
    const left = this.inflate(chunk, 0, zlib.constants.Z_NO_FLUSH)
    if (left >= 0 && left < chunk.length) this.queue.push(chunk.subarray(left))
  }

  end() {
    if (this.failed) return
    this.ending = true
    if (!this.saturated) this.finish()
  }

  pump() {
    if (this.failed) return
    this.refused = false
    while (!this.refused && !this.failed) {
      const input = this.queue[0]
      if (input === undefined) break
      this.head = this.inflate(input, this.head, zlib.constants.Z_NO_FLUSH)
      if (this.head < input.length) break
      this.queue.shift()
      this.head = 0
    }
    if (this.saturated || this.failed) return
    if (this.ending) this.finish()
    else this.output.drain()
  }

  destroy() {
    this.failed = true
    this.queue.length = 0
    this.gunzip.destroy()
  }

  private finish() {
    if (this.ended || this.inflate(new Uint8Array(0), 0, zlib.constants.Z_FINISH) < 0) return
    this.ended = true
    this.output.end()
  }

  // Inflates `input` from `offset` until it is used up or the output refuses a chunk (`refused`). Returns
  // where the input stopped being read (its length when all of it went in; -1 after a failure).
  private inflate(input: Uint8Array, offset: number, flush: number): number {
    let at = offset
    for (;;) {
      // Never after a failure or `destroy`: the handle is closed then, and writing to it aborts the process.
      if (this.failed || this.gunzip.destroyed) return -1
      this.handle.writeSync(flush, input, at, input.length - at, this.out, 0, this.out.length)
      const error = this.gunzip.errored
      if (error !== null) {
        this.failed = true
        this.output.error(error)
        return -1
      }
      const outLeft = this.state[0]!
      at = input.length - this.state[1]!
      const produced = this.out.length - outLeft
      if (produced > 0 && !this.output.data(this.out.subarray(0, produced))) {
        this.refused = true
        // A refused finish is taken up again by `pump` (the queue is empty then).
        return flush === zlib.constants.Z_FINISH ? -1 : at
      }
      // Room left in the output: the input is used up, or the stream ended and zlib left the rest (zero
      // padding, which Node's gunzip ignores too) unread.
      if (outLeft !== 0) return input.length
    }
  }
}

// A decompressor that runs synchronously on the main thread (or none at all): input waits in `input` and
// output in `queue` while the output refuses it.
class SyncInflater implements Inflater {
  private readonly input: Array<Uint8Array> = []
  private readonly queue: Array<Uint8Array> = []
  private ending = false
  private ended = false
  private announced = false
  private refused = false
  private failed = false

  constructor(
    private readonly output: InflaterOutput,
    private readonly slice: number,
    private readonly transform: (bytes: Uint8Array, final: boolean, emit: (out: Uint8Array) => void) => void
  ) {}

  get saturated(): boolean {
    return this.input.length > 0 || this.queue.length > 0
  }

  // The input is copied: it waits here, and a chunk refused by the output stays with the tar reader, after
  // `write` returned.
  write(chunk: Uint8Array) {
    const copy = Uint8Array.prototype.slice.call(chunk)
    for (let at = 0; at < copy.length; at += this.slice) this.input.push(copy.subarray(at, at + this.slice))
    this.run()
  }

  end() {
    this.ending = true
    this.run()
  }

  pump() {
    this.refused = false
    this.run()
  }

  destroy() {
    this.failed = true
    this.input.length = 0
    this.queue.length = 0
  }

  private run() {
    const emit = (out: Uint8Array) => {
      if (out.length > 0) this.queue.push(out)
    }
    while (!this.refused && !this.failed) {
      const out = this.queue.shift()
      if (out !== undefined) {
        if (!this.output.data(out)) this.refused = true
        continue
      }
      const next = this.input.shift()
      if (next !== undefined) {
        if (!this.step(() => this.transform(next, false, emit))) return
        continue
      }
      if (this.ending && !this.ended) {
        this.ended = true
        if (!this.step(() => this.transform(new Uint8Array(0), true, emit))) return
        if (this.queue.length > 0) continue
      }
      break
    }
    if (this.refused || this.failed || this.announced) return
    if (this.ended) {
      this.announced = true
      this.output.end()
    } else {
      this.output.drain()
    }
  }

  private step(run: () => void): boolean {
    try {
      run()
      return true
    } catch (cause) {
      this.failed = true
      this.output.error(cause)
      return false
    }
  }
}

const zstd = (output: InflaterOutput): Inflater => {
  const blocks: Array<Uint8Array> = []
  const decoder = new Decompress((block) => {
    blocks.push(block)
  })
  return new SyncInflater(output, zstdSlice, (bytes, final, emit) => {
    decoder.push(bytes, final)
    for (const block of blocks.splice(0)) emit(block)
  })
}

/** How gzip is inflated: on the main thread into one reused buffer, or through Node's gunzip stream. */
export type GzipKind = "sync" | "stream"

let syncGzip: boolean | undefined

/**
 * Whether this Node's gunzip stream exposes the handle GzipSyncInflater drives (`_handle.writeSync` and
 * `_writeState`, there since Node 10). Not a public API: where it is missing, gzip goes through the stream.
 */
export const syncGzipAvailable = (): boolean => {
  if (syncGzip === undefined) {
    const probe = zlib.createGunzip() as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown; close: () => void }
    syncGzip = typeof probe._handle?.writeSync === "function" && probe._writeState instanceof Uint32Array
    probe.close()
  }
  return syncGzip
}

export const make = (
  compression: MediaType.LayerCompression,
  output: InflaterOutput,
  gzip: GzipKind = syncGzipAvailable() ? "sync" : "stream"
): Inflater => {
  switch (compression) {
    case "gzip":
      return gzip === "sync" ? new GzipSyncInflater(output) : new GzipInflater(output)
    case "zstd":
      return zstd(output)
    case "none":
      return new SyncInflater(output, Number.POSITIVE_INFINITY, (bytes, _final, emit) => emit(bytes))
  }
}
