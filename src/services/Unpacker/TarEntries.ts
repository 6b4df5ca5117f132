// Reads a tar stream entry by entry, synchronously, as its bytes arrive: POSIX ustar and pax (`x` and `g`
// records), GNU (`L` and `K` long names, its own magic), and v7 headers. Bodies are handed on as views of
// the bytes given, never copied. The handler may hold the reader before an entry while work it started in
// the background finishes; the reader then keeps the rest of its input until it is resumed.
import { Data } from "effect"

/**
 * A header with the pax records and GNU long names that apply to it folded in. `type` is null for a type
 * flag this reader does not know; `mtime` is in seconds.
 */
export interface TarHeader {
  readonly name: string
  readonly type: string | null
  readonly size: number
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: number
  readonly linkname: string | null
  readonly pax: Readonly<Record<string, string>> | null
}

/** Where an entry's body goes. Its methods throw the handler's failures. */
export interface BodySink {
  readonly write: (chunk: Uint8Array) => void
  /** The body is complete. */
  readonly end: () => void
  /** The unpack stops before the body is complete: release what the sink holds, throw nothing. */
  readonly abort: () => void
}

/**
 * Handles entries synchronously; its methods throw the handler's failures. A handler may finish work in the
 * background (file writes on another thread): it then holds the reader back through `wait`, and reports
 * what failed there through `settled`.
 */
export interface EntryHandler {
  /** Handles the entry `header` heads: returns where its body goes, or undefined to skip it. */
  readonly entry: (header: TarHeader) => BodySink | undefined
  /**
   * False when `header` can be handled now; otherwise true, and `ready` is called once it can (or once
   * background work failed).
   */
  readonly wait: (header: TarHeader, ready: () => void) => boolean
  /**
   * False when no background work is left; otherwise true, and `done` is called once there is none.
   * Throws what background work failed with.
   */
  readonly settled: (done: () => void) => boolean
}

/** The bytes are not a tar archive, or it ends in the middle of an entry. */
export class MalformedTar extends Data.TaggedError("MalformedTar")<{ readonly reason: string }> {}

const blockSize = 512
/** The largest pax record set or GNU long name taken. */
const maxExtendedHeader = 1024 * 1024
/**
 * The most bytes of global pax records a layer may carry, all told: they are copied into every header that
 * follows (real ones are a `comment=` of a few dozen bytes).
 */
const maxGlobalPax = 64 * 1024

const types: Record<number, string> = {
  0: "file",
  0x30: "file",
  0x31: "link",
  0x32: "symlink",
  0x33: "character-device",
  0x34: "block-device",
  0x35: "directory",
  0x36: "fifo",
  0x37: "contiguous-file"
}
const paxLocal = 0x78 // x
const paxGlobal = 0x67 // g
const gnuLongName = 0x4c // L
const gnuLongNameOld = 0x4e // N
const gnuLongLink = 0x4b // K

const hasBody = (type: string | null) => type === "file" || type === "contiguous-file"

const bufferOf = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** The NUL-terminated UTF-8 text of a field. */
const text = (block: Buffer, start: number, length: number): string => {
  const end = block.indexOf(0, start)
  return block.toString("utf8", start, end < 0 || end > start + length ? start + length : end)
}

/**
 * A numeric field: octal digits between optional leading spaces and a space or NUL, or a base-256 number
 * (high bit set) for values octal cannot hold. NaN when it is neither.
 */
const numeric = (block: Buffer, start: number, length: number): number => {
  const end = start + length
  const first = block[start]!
  if (first & 0x80) {
    if (first !== 0x80) return Number.NaN
    let value = 0
    for (let i = start + 1; i < end; i++) value = value * 256 + block[i]!
    return Number.isSafeInteger(value) ? value : Number.NaN
  }
  let i = start
  while (i < end && block[i] === 0x20) i++
  let value = 0
  let digits = 0
  for (; i < end; i++) {
    const c = block[i]!
    if (c === 0x20 || c === 0) break
    if (c < 0x30 || c > 0x37) return Number.NaN
    value = value * 8 + (c - 0x30)
    digits++
  }
  for (; i < end; i++) {
    const c = block[i]!
    if (c !== 0x20 && c !== 0) return Number.NaN
  }
  return digits === 0 && first !== 0 && first !== 0x20 ? Number.NaN : value
}

/** The header's checksum holds either the unsigned or the signed byte sum (old tars wrote the latter). */
const checksumMatches = (block: Buffer, stored: number): boolean => {
  let unsigned = 8 * 0x20
  let signed = 8 * 0x20
  for (let i = 0; i < blockSize; i++) {
    if (i >= 148 && i < 156) continue
    const b = block[i]!
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  return stored === unsigned || stored === signed
}

const isZeroBlock = (block: Buffer): boolean => {
  for (let i = 0; i < blockSize; i++) if (block[i] !== 0) return false
  return true
}

const isPosixUstar = (block: Buffer) =>
  block[257] === 0x75 && block[258] === 0x73 && block[259] === 0x74 && block[260] === 0x61 &&
  block[261] === 0x72 && block[262] === 0

/** `len key=value\n` records; what a later record sets wins. */
const parsePax = (bytes: Buffer): Record<string, string> => {
  const records: Record<string, string> = {}
  let at = 0
  while (at < bytes.length) {
    if (bytes[at] === 0) break
    const space = bytes.indexOf(0x20, at)
    const length = space < 0 ? Number.NaN : Number(bytes.toString("latin1", at, space))
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > bytes.length || bytes[at + length - 1] !== 0x0a) {
      throw new MalformedTar({ reason: "malformed pax record" })
    }
    const record = bytes.toString("utf8", space + 1, at + length - 1)
    const equals = record.indexOf("=")
    if (equals <= 0) throw new MalformedTar({ reason: "malformed pax record" })
    records[record.slice(0, equals)] = record.slice(equals + 1)
    at += length
  }
  return records
}

const padding = (size: number) => (blockSize - (size % blockSize)) % blockSize

type Phase =
  | { readonly kind: "header" }
  | { readonly kind: "extended"; readonly flag: number; readonly size: number }
  | { readonly kind: "body"; remaining: number; readonly sink: BodySink | undefined; readonly size: number }
  | { readonly kind: "skip"; remaining: number }

/**
 * The reader. `push` parses a chunk and returns false when the handler held it: the rest of that chunk is
 * kept, and nothing more may be pushed until `resume` (called once the handler's `ready` fired) returns
 * true. Failures are thrown: `MalformedTar`, or whatever the handler throws.
 */
export class TarReader {
  private phase: Phase = { kind: "header" }
  // A header or extended record that arrives in pieces, copied into a buffer of its size (the chunks'
  // memory may be reused once a push returns), and how many of its bytes came so far.
  private pending: Buffer | undefined = undefined
  private pendingBytes = 0
  private paxRecords: Record<string, string> | null = null
  private paxGlobalRecords: Record<string, string> | null = null
  private paxGlobalBytes = 0
  private longName: string | null = null
  private longLink: string | null = null
  private held: { readonly header: TarHeader; readonly rest: Buffer } | undefined = undefined

  /**
   * `ready` is what the handler's `wait` calls back. `tap`, when given, sees every byte the reader consumes,
   * in order, headers and padding included; a file's body bytes go to it with the entry's sink (whose
   * `write` the reader then does not call), so that one pass can hash the stream and write the files.
   */
  constructor(
    private readonly handler: EntryHandler,
    private readonly ready: () => void,
    private readonly tap?: (bytes: Uint8Array, body: BodySink | undefined) => void
  ) {}

  /** Whether the handler holds the reader. */
  get holding(): boolean {
    return this.held !== undefined
  }

  /**
   * Parses `chunk`. True when it was used up: the reader then keeps no reference to it (its memory may be
   * reused). False when the handler held the reader: the rest of the chunk is kept until `resume`.
   */
  push(chunk: Uint8Array): boolean {
    if (this.held !== undefined) throw new Error("TarReader: push while held")
    return this.parse(bufferOf(chunk))
  }

  /** Goes on after the handler's `ready`: false when it holds the reader again. */
  resume(): boolean {
    const held = this.held
    if (held === undefined) return true
    this.held = undefined
    if (!this.dispatch(held.header, held.rest)) return false
    return this.parse(held.rest)
  }

  /** The stream ended: throws when it ended inside an entry. */
  end(): void {
    if (this.held !== undefined) throw new Error("TarReader: end while held")
    if (this.phase.kind !== "header" || this.pendingBytes > 0) {
      throw new MalformedTar({ reason: "unexpected end of data" })
    }
  }

  /** Releases the body sink of an entry cut short. */
  abort(): void {
    const phase = this.phase
    this.phase = { kind: "header" }
    if (phase.kind === "body") phase.sink?.abort()
  }

  private parse(chunk: Buffer): boolean {
    let at = 0
    while (at < chunk.length) {
      const phase = this.phase
      if (phase.kind === "body" || phase.kind === "skip") {
        const n = Math.min(phase.remaining, chunk.length - at)
        const sink = phase.kind === "body" ? phase.sink : undefined
        if (this.tap !== undefined) this.tap(chunk.subarray(at, at + n), sink)
        else sink?.write(chunk.subarray(at, at + n))
        at += n
        phase.remaining -= n
        if (phase.remaining === 0) this.bodyDone(phase)
        continue
      }
      const wanted = phase.kind === "header" ? blockSize : phase.size + padding(phase.size)
      let record: Buffer
      if (this.pendingBytes === 0 && chunk.length - at >= wanted) {
        record = chunk.subarray(at, at + wanted)
        this.tap?.(record, undefined)
        at += wanted
      } else {
        const n = Math.min(wanted - this.pendingBytes, chunk.length - at)
        this.tap?.(chunk.subarray(at, at + n), undefined)
        const pending = this.pending ??= Buffer.allocUnsafe(wanted)
        chunk.copy(pending, this.pendingBytes, at, at + n)
        this.pendingBytes += n
        at += n
        if (this.pendingBytes < wanted) continue
        record = pending
        this.pending = undefined
        this.pendingBytes = 0
      }
      if (phase.kind === "extended") {
        this.extended(phase.flag, record.subarray(0, phase.size))
        this.phase = { kind: "header" }
        continue
      }
      const header = this.header(record)
      if (header === undefined) continue
      const rest = chunk.subarray(at)
      if (!this.dispatch(header, rest)) return false
    }
    return true
  }

  private bodyDone(phase: Extract<Phase, { kind: "body" | "skip" }>) {
    if (phase.kind === "body") {
      const pad = padding(phase.size)
      this.phase = pad > 0 ? { kind: "skip", remaining: pad } : { kind: "header" }
      phase.sink?.end()
    } else {
      this.phase = { kind: "header" }
    }
  }

  // Hands a complete header to the handler; false when the handler holds the reader (`rest` waits).
  private dispatch(header: TarHeader, rest: Buffer): boolean {
    if (this.handler.wait(header, this.ready)) {
      this.held = { header, rest }
      return false
    }
    const sink = this.handler.entry(header)
    const size = header.size
    if (!hasBody(header.type)) {
      // The body of anything but a regular file (GNU dumpdir data, say) is not applied.
      sink?.abort()
      if (size > 0) this.phase = { kind: "skip", remaining: size + padding(size) }
    } else if (size === 0) {
      sink?.end()
    } else {
      this.phase = { kind: "body", remaining: size, sink, size }
    }
    return true
  }

  // Decodes a header block: undefined for a zero block or an extended record (which sets up its phase).
  private header(block: Buffer): TarHeader | undefined {
    if (isZeroBlock(block)) return undefined
    const stored = numeric(block, 148, 8)
    if (!checksumMatches(block, stored)) {
      throw new MalformedTar({ reason: "invalid tar header checksum (not a tar archive, or a corrupt one)" })
    }
    const flag = block[156]!
    let size = numeric(block, 124, 12)
    if (Number.isNaN(size)) throw new MalformedTar({ reason: "invalid size field" })
    if (flag === paxLocal || flag === paxGlobal || flag === gnuLongName || flag === gnuLongNameOld || flag === gnuLongLink) {
      if (size > maxExtendedHeader) {
        throw new MalformedTar({ reason: `extended header of ${size} bytes (at most ${maxExtendedHeader})` })
      }
      this.phase = { kind: "extended", flag, size }
      if (size === 0) this.phase = { kind: "header" }
      return undefined
    }
    const mode = numeric(block, 100, 8)
    const uid = numeric(block, 108, 8)
    const gid = numeric(block, 116, 8)
    const mtime = numeric(block, 136, 12)
    if (Number.isNaN(mode) || Number.isNaN(uid) || Number.isNaN(gid) || Number.isNaN(mtime)) {
      throw new MalformedTar({ reason: "invalid numeric field in a tar header" })
    }
    let name = text(block, 0, 100)
    if (isPosixUstar(block) && block[345] !== 0) name = `${text(block, 345, 155)}/${name}`
    let linkname: string | null = block[157] === 0 ? null : text(block, 157, 100)
    let type = types[flag] ?? null
    // Old tars mark a directory by a trailing slash on a regular-file entry.
    if (type === "file" && flag === 0 && name.endsWith("/")) type = "directory"

    const pax = this.paxGlobalRecords === null && this.paxRecords === null
      ? null
      : { ...this.paxGlobalRecords, ...this.paxRecords }
    if (this.longName !== null) name = this.longName
    if (this.longLink !== null) linkname = this.longLink
    if (pax !== null) {
      if (pax.path !== undefined) name = pax.path
      if (pax.linkpath !== undefined) linkname = pax.linkpath
      if (pax.size !== undefined) {
        size = /^\d+$/.test(pax.size) ? Number(pax.size) : Number.NaN
        if (!Number.isSafeInteger(size)) throw new MalformedTar({ reason: `invalid pax size ${JSON.stringify(pax.size)}` })
      }
    }
    this.paxRecords = null
    this.longName = null
    this.longLink = null
    return { name, type, size, mode, uid, gid, mtime, linkname, pax }
  }

  private extended(flag: number, body: Buffer) {
    switch (flag) {
      case paxLocal:
        // A second set before the entry replaces the first, so that what waits for an entry stays bounded.
        this.paxRecords = parsePax(body)
        return
      case paxGlobal:
        this.paxGlobalBytes += body.length
        if (this.paxGlobalBytes > maxGlobalPax) {
          throw new MalformedTar({ reason: `more than ${maxGlobalPax} bytes of global pax records` })
        }
        this.paxGlobalRecords = { ...this.paxGlobalRecords, ...parsePax(body) }
        return
      case gnuLongLink:
        this.longLink = text(body, 0, body.length)
        return
      default:
        this.longName = text(body, 0, body.length)
    }
  }
}
