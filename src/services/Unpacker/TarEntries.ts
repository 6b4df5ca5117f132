// Reads a tar stream entry by entry with tar-stream, handing each header and its body to synchronous code
// (the applier does its file-system work with synchronous calls): the bytes come from an Effect Stream, a
// batch of chunks at a time, and backpressure runs from the entry body back to the byte stream, so a large
// file never sits in memory.
import { Data, Effect, Stream } from "effect"
import type { Chunk } from "effect"
import * as tar from "tar-stream"

/**
 * A header as tar-stream decodes it (PAX and GNU long names already folded into `name` and `linkname`),
 * with the PAX records that applied to it. `type` is null for a type flag tar-stream does not know.
 */
export interface TarHeader {
  readonly name: string
  readonly type: string | null
  readonly size: number
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: Date
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
 * Handles entries synchronously; its methods throw failures that `isFailure` of `forEachEntry` recognises.
 * A handler may finish work in the background (file writes on the thread pool): it then holds the parser
 * back through `wait`, and reports what failed there through `settled`.
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

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

// Enough that the parser takes a whole batch of 64 KiB chunks before it asks the feeder to wait.
const parserBuffer = 256 * 1024

interface EntryBody {
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown
  on(event: "end" | "error", listener: () => void): unknown
  resume(): unknown
}

// The parser with its current entry. `failure` is the first failure of the handler or the parser;
// `wake` resumes the feeder waiting for the parser to drain or finish.
class Parser<E> {
  readonly extract = tar.extract({ allowUnknownFormat: true, highWaterMark: parserBuffer } as Parameters<typeof tar.extract>[0])
  failure: Effect.Effect<never, E | MalformedTar> | undefined = undefined
  // An entry is current from its header until its body's end has been handled.
  current = false
  finished = false
  private sink: BodySink | undefined = undefined
  private wake: (() => void) | undefined = undefined

  constructor(
    private readonly handle: EntryHandler,
    private readonly isFailure: (u: unknown) => u is E
  ) {
    this.extract.on("entry", (header, body, next) => this.entry(header as unknown as TarHeader, body as EntryBody, next))
    this.extract.on("error", (cause) => this.fail(new MalformedTar({ reason: reasonOf(cause) })))
    this.extract.on("finish", () => {
      this.finished = true
      this.notify()
    })
  }

  private entry(header: TarHeader, body: EntryBody, next: () => void) {
    if (this.failure !== undefined) return
    this.current = true
    // The parser's own error reports what went wrong; the body repeats it.
    body.on("error", () => undefined)
    try {
      if (this.handle.wait(header, () => this.resumeEntry(header, body, next))) return
      this.sink = this.handle.entry(header)
    } catch (thrown) {
      this.fail(thrown)
      return
    }
    body.on("data", (chunk) => {
      if (this.failure !== undefined) return
      try {
        this.sink?.write(chunk)
      } catch (thrown) {
        this.fail(thrown)
      }
    })
    body.on("end", () => {
      if (this.failure !== undefined) return
      const sink = this.sink
      this.sink = undefined
      try {
        sink?.end()
      } catch (thrown) {
        this.fail(thrown)
        return
      }
      this.current = false
      next()
      this.notify()
    })
    body.resume()
  }

  private resumeEntry(header: TarHeader, body: EntryBody, next: () => void) {
    try {
      this.handle.settled(() => undefined)
    } catch (thrown) {
      this.fail(thrown)
      return
    }
    this.entry(header, body, next)
  }

  /** True once the handler has no background work left; throws what that work failed with. */
  settled(): boolean {
    return !this.handle.settled(() => this.notify())
  }

  // What the handler throws besides its failures is a bug: a defect.
  fail(thrown: unknown) {
    if (this.failure !== undefined) return
    this.failure = thrown instanceof MalformedTar || this.isFailure(thrown) ? Effect.fail(thrown) : Effect.die(thrown)
    this.release()
    this.notify()
  }

  release() {
    const sink = this.sink
    this.sink = undefined
    sink?.abort()
    this.extract.destroy()
  }

  notify() {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private outcome(): Effect.Effect<void, E | MalformedTar> {
    return this.failure ?? Effect.void
  }

  /** Resumes once `ready` holds or something failed. */
  private waitFor(ready: () => boolean): Effect.Effect<void, E | MalformedTar> {
    return Effect.async<void, E | MalformedTar>((resume) => {
      const check = () => {
        if (this.failure !== undefined || ready()) {
          resume(this.outcome())
          return
        }
        this.wake = check
      }
      check()
      return Effect.sync(() => {
        this.wake = undefined
      })
    })
  }

  write(chunks: Chunk.Chunk<Uint8Array>): Effect.Effect<void, E | MalformedTar> {
    if (this.failure !== undefined) return this.outcome()
    let full = false
    for (const chunk of chunks) full = !this.extract.write(chunk)
    if (!full) return this.outcome()
    let drained = false
    this.extract.once("drain", () => {
      drained = true
      this.notify()
    })
    return this.waitFor(() => drained)
  }

  end(): Effect.Effect<void, E | MalformedTar> {
    if (this.failure !== undefined) return this.outcome()
    this.extract.end(undefined)
    return this.waitFor(() => {
      if (!this.finished || this.current) return false
      try {
        return this.settled()
      } catch (thrown) {
        this.fail(thrown)
        return true
      }
    })
  }

  /** Once the handler's background work is over, whatever the outcome. */
  quiesce(): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const check = () => {
        try {
          if (this.handle.settled(check)) return
        } catch {
          // The failure was reported, or the unpack is stopping anyway.
        }
        resume(Effect.void)
      }
      check()
    })
  }
}

/**
 * Feeds `bytes` to a tar parser and runs `handle` on each entry, one after the other, its body's chunks to
 * the sink it returns. Fails with the first failure of the bytes, the parser or the handler.
 */
export const forEachEntry = <E, R, E2>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  handle: EntryHandler,
  isFailure: (u: unknown) => u is E2
): Effect.Effect<void, E | E2 | MalformedTar, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Parser(handle, isFailure)),
    (parser) =>
      Stream.runForEachChunk(bytes, (chunks) => parser.write(chunks)).pipe(Effect.zipRight(Effect.suspend(() => parser.end()))),
    (parser) => Effect.zipRight(Effect.sync(() => parser.release()), parser.quiesce())
  )
