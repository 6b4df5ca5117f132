// One layer in a single streaming pass, from compressed bytes (checked against their descriptor upstream,
// by ContentCheck) to applied entries: inflated by media type, the tar stream counted against the size
// limit and hashed against the diff_id, and read entry by entry into a handler.
// The Effect Stream of blob bytes is consumed by one stage; everything after it runs on callbacks, so a
// chunk costs a few function calls rather than a stream step per stage. A check that can only fail at the
// end fails there, after the handler has seen every byte: the caller's staging makes that leave no trace.
import { Effect, Stream } from "effect"
import * as Digest from "../../domain/Digest.js"
import type * as MediaType from "../../domain/MediaType.js"
import * as Inflater from "./Inflater.js"
import { type BodySink, type EntryHandler, MalformedTar, TarReader } from "./TarEntries.js"
import type { LayerId } from "./UnpackError.js"
import { DecompressionFailed, DiffIdMismatch, LayerTooLarge } from "./UnpackError.js"

/** The bytes of one layer and what they must match. */
export interface LayerSource<E, R> {
  /** The blob as stored (compressed as `compression` says), already checked against its descriptor. */
  readonly bytes: Stream.Stream<Uint8Array, E, R>
  readonly compression: MediaType.LayerCompression
  /** Check the tar stream against this digest (the config's diff_id); unchecked when absent. */
  readonly diffId?: Digest.Digest | undefined
}

export type PipeError = DecompressionFailed | DiffIdMismatch | LayerTooLarge | MalformedTar

/** Hashes the tar stream elsewhere (on another thread), and writes the file bodies on the way. */
export interface TarHasher {
  readonly start: (algorithm: Digest.Algorithm) => void
  /** Takes a copy of `bytes`, in stream order; when `body` is given they are also that file's next bytes. */
  readonly update: (bytes: Uint8Array, body: BodySink | undefined) => void
  /** The hex digest; undefined when the hashing failed (the handler's `settled` then says why). */
  readonly digest: () => Promise<string | undefined>
}

/** Background work of the handler that the pipe lets finish before it reads on. */
export interface Backlog {
  readonly full: boolean
  readonly onProgress: (wake: () => void) => void
}

export interface PipeOptions {
  /** Fail with LayerTooLarge once the tar stream passes this many bytes. */
  readonly maxLayerBytes: number
  /** Runs after each batch of blob bytes (the handler's log lines go out there). */
  readonly afterBatch?: () => Effect.Effect<void>
  readonly tarHasher: TarHasher
  readonly backlog: Backlog
}

const isPipeError = (u: unknown): u is PipeError =>
  u instanceof MalformedTar || u instanceof LayerTooLarge || u instanceof DecompressionFailed || u instanceof DiffIdMismatch

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

class Pipe<EH> implements Inflater.InflaterOutput {
  /** The first failure: a typed failure, or a defect for anything else thrown. */
  failure: Effect.Effect<never, EH | PipeError> | undefined = undefined
  tarBytes = 0
  private tarEnded = false
  private wake: (() => void) | undefined = undefined
  private readonly reader: TarReader
  private readonly inflater: Inflater.Inflater

  constructor(
    private readonly layer: LayerId,
    private readonly source: LayerSource<unknown, unknown>,
    private readonly handler: EntryHandler,
    private readonly isFailure: (u: unknown) => u is EH,
    private readonly limit: number,
    private readonly tarHasher: TarHasher,
    private readonly backlog: Backlog
  ) {
    const diffId = source.diffId
    if (diffId !== undefined) tarHasher.start(Digest.algorithm(diffId))
    // Without a diff_id to check there is nothing to hash: bodies go to their sinks.
    this.reader = new TarReader(
      handler,
      () => this.resumeReader(),
      diffId === undefined ? undefined : (bytes, body) => tarHasher.update(bytes, body)
    )
    this.inflater = Inflater.make(source.compression, this)
  }

  // ---- the inflater's output: tar bytes

  data(chunk: Uint8Array): boolean {
    if (this.failure !== undefined) return false
    this.tarBytes += chunk.length
    if (this.tarBytes > this.limit) {
      this.fail(new LayerTooLarge({ layer: this.layer, limit: this.limit }))
      return false
    }
    // The reader hands the hasher every byte it consumes.
    try {
      if (!this.reader.push(chunk)) return false
    } catch (thrown) {
      this.fail(thrown)
      return false
    }
    if (!this.backlog.full) return true
    this.backlog.onProgress(() => this.resumeReader())
    return false
  }

  end() {
    if (this.failure !== undefined) return
    const expected = this.source.diffId
    if (expected === undefined) return this.endReader()
    this.tarHasher.digest().then((hex) => {
      if (this.failure !== undefined) return
      if (hex !== undefined) {
        const actual = `${Digest.algorithm(expected)}:${hex}` as Digest.Digest
        if (actual !== expected) return this.fail(new DiffIdMismatch({ layer: this.layer, expected, actual }))
        return this.endReader()
      }
      // The hashing thread failed: the handler says why.
      this.settled()
      this.fail(new Error("the tar stream could not be hashed"))
    })
  }

  private endReader() {
    try {
      this.reader.end()
    } catch (thrown) {
      return this.fail(thrown)
    }
    this.tarEnded = true
    this.notify()
  }

  error(cause: unknown) {
    this.fail(new DecompressionFailed({ layer: this.layer, compression: this.source.compression, reason: reasonOf(cause) }))
  }

  drain() {
    this.notify()
  }

  private resumeReader() {
    if (this.failure !== undefined) return
    try {
      if (this.reader.resume()) this.inflater.pump()
    } catch (thrown) {
      this.fail(thrown)
    }
    this.notify()
  }

  // ---- the compressed side, driven by the Effect stream

  write(chunks: Iterable<Uint8Array>): Effect.Effect<void, EH | PipeError> {
    for (const chunk of chunks) {
      if (this.failure !== undefined) return this.failure
      this.inflater.write(chunk)
    }
    return this.waitFor(() => !this.inflater.saturated)
  }

  finish(): Effect.Effect<void, EH | PipeError> {
    if (this.failure !== undefined) return this.failure
    this.inflater.end()
    return this.waitFor(() => this.tarEnded && this.settled())
  }

  /** Stops everything and waits until the handler's background work is over, whatever its outcome. */
  release(): Effect.Effect<void> {
    this.stop()
    return Effect.async<void>((resume) => {
      const check = () => {
        try {
          if (this.handler.settled(check)) return
        } catch {
          // Reported already, or the unpack is stopping anyway.
        }
        resume(Effect.void)
      }
      check()
    })
  }

  private settled(): boolean {
    try {
      return !this.handler.settled(() => this.notify())
    } catch (thrown) {
      this.fail(thrown)
      return true
    }
  }

  // What the handler throws besides its failures is a bug: a defect.
  private fail(thrown: unknown) {
    if (this.failure !== undefined) return
    this.failure = isPipeError(thrown) || this.isFailure(thrown) ? Effect.fail(thrown) : Effect.die(thrown)
    this.stop()
    this.notify()
  }

  private stop() {
    this.inflater.destroy()
    this.reader.abort()
  }

  private notify() {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private waitFor(ready: () => boolean): Effect.Effect<void, EH | PipeError> {
    if (this.failure !== undefined) return this.failure
    if (ready()) return this.failure ?? Effect.void
    return Effect.async<void, EH | PipeError>((resume) => {
      const check = () => {
        if (this.failure !== undefined || ready()) {
          resume(this.failure ?? Effect.void)
          return
        }
        this.wake = check
      }
      this.wake = check
      return Effect.sync(() => {
        this.wake = undefined
      })
    })
  }
}

/**
 * Reads the layer `source` into `handler`; succeeds with the number of tar bytes once every entry was
 * handled, every check passed and the handler's background work is done. Fails with the first failure of
 * the bytes, a check, the tar reader, or the handler (those `isFailure` recognises; others are defects).
 */
export const readLayer = <E, R, EH>(
  layer: LayerId,
  source: LayerSource<E, R>,
  handler: EntryHandler,
  isFailure: (u: unknown) => u is EH,
  options: PipeOptions
): Effect.Effect<number, E | EH | PipeError, R> => {
  const afterBatch = options.afterBatch ?? (() => Effect.void)
  return Effect.acquireUseRelease(
    Effect.sync(() =>
      new Pipe<EH>(layer, source, handler, isFailure, options.maxLayerBytes, options.tarHasher, options.backlog)
    ),
    (pipe) =>
      Stream.runForEachChunk(source.bytes, (chunks) => Effect.zipRight(pipe.write(chunks), afterBatch())).pipe(
        Effect.zipRight(Effect.suspend(() => pipe.finish())),
        Effect.map(() => pipe.tarBytes)
      ),
    (pipe) => pipe.release()
  )
}
