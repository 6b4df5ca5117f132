// One layer in a single streaming pass, from compressed bytes (checked against their descriptor upstream,
// by ContentCheck) to applied entries: inflated by media type, the tar stream counted against the size
// limit and hashed against the diff_id, and read entry by entry into a handler.
// The Effect Stream of blob bytes is consumed by one stage; everything after it runs on callbacks, so a
// chunk costs a few function calls rather than a stream step per stage. A check that can only fail at the
// end fails there, after the handler has seen every byte: the caller's staging makes that leave no trace.
import { Effect, Exit, Stream } from "effect"
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
  /**
   * The hex digest; undefined when the hashing failed (the handler's `settled` then says why). It comes once
   * everything handed over before it is done (the bodies written): a layer whose digest came has no work
   * left in the background.
   */
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
  // The tar stream's digest from the hashing thread, once the stream ended (with a diff_id to check).
  private digest: Promise<string | undefined> | undefined = undefined
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

  // The tar stream ended. Its diff_id is checked once the hashing thread has caught up (`verified`); the
  // reader's own checks happen now, so that the pipe can end before that. A reader failure waits for the
  // digest, though: a wrong diff_id explains a broken tar better than the reader can.
  end() {
    if (this.failure !== undefined) return
    const digest = this.source.diffId === undefined ? undefined : this.tarHasher.digest()
    this.digest = digest
    try {
      this.reader.end()
    } catch (thrown) {
      if (digest === undefined) return this.fail(thrown)
      digest.then((hex) => this.fail(this.mismatch(hex) ?? thrown), () => this.fail(thrown))
      return
    }
    this.tarEnded = true
    this.notify()
  }

  // The diff_id failure for the tar stream's digest `hex`, if any.
  private mismatch(hex: string | undefined): DiffIdMismatch | undefined {
    const expected = this.source.diffId
    if (expected === undefined || hex === undefined) return undefined
    const actual = `${Digest.algorithm(expected)}:${hex}` as Digest.Digest
    return actual === expected ? undefined : new DiffIdMismatch({ layer: this.layer, expected, actual })
  }

  /**
   * After `finish`: succeeds once the tar stream's digest matched the diff_id, which also means the handler's
   * background work for this layer is done (see `TarHasher.digest`); fails with the mismatch, or with what
   * that work failed with. Without a diff_id, it waits for all of the handler's background work.
   */
  verified(): Effect.Effect<void, EH | PipeError> {
    const digest = this.digest
    if (digest === undefined) return this.afterBackgroundWork(undefined)
    return Effect.flatMap(Effect.promise(() => digest), (hex) => {
      const mismatch = this.mismatch(hex)
      if (mismatch !== undefined) return Effect.fail(mismatch)
      // No digest: the hashing thread failed, and the handler says why.
      return hex === undefined ? this.afterBackgroundWork(new Error("the tar stream could not be hashed")) : Effect.void
    })
  }

  // Waits for the handler's background work; fails with its failure, else with `otherwise` when given.
  private afterBackgroundWork(otherwise: unknown): Effect.Effect<void, EH | PipeError> {
    return Effect.async<void, EH | PipeError>((resume) => {
      const check = () => {
        try {
          if (this.handler.settled(check)) return
        } catch (thrown) {
          resume(this.failureOf(thrown))
          return
        }
        resume(otherwise === undefined ? Effect.void : this.failureOf(otherwise))
      }
      check()
    })
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
    return this.waitFor(() => this.tarEnded)
  }

  /**
   * Stops everything. After a failure or an interruption it also waits until the handler's background work
   * is over, whatever its outcome; after success that work goes on, and `verified` waits for it.
   */
  release(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    this.stop()
    return Exit.isSuccess(exit) ? Effect.void : Effect.ignore(this.afterBackgroundWork(undefined))
  }

  // What the handler throws besides its failures is a bug: a defect.
  private fail(thrown: unknown) {
    if (this.failure !== undefined) return
    this.failure = this.failureOf(thrown)
    this.stop()
    this.notify()
  }

  private failureOf(thrown: unknown): Effect.Effect<never, EH | PipeError> {
    return isPipeError(thrown) || this.isFailure(thrown) ? Effect.fail(thrown) : Effect.die(thrown)
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

/** A layer read to its end: its tar bytes, and the checks that finish in the background. */
export interface LayerRead<EH> {
  readonly tarBytes: number
  /** Succeeds once the diff_id matched and the handler's background work for the layer is done. */
  readonly verified: Effect.Effect<void, EH | PipeError>
}

/**
 * Reads the layer `source` into `handler`; succeeds once every entry was handled and every check of the
 * bytes and the tar reader passed, while the diff_id check and the handler's background work (writing the
 * last files, hashing the last bytes) finish in the background: the next layer may start meanwhile, and
 * `verified` says how this one ended. Fails with the first failure of the bytes, a check, the tar reader,
 * or the handler (those `isFailure` recognises; others are defects).
 */
export const readLayerPipelined = <E, R, EH>(
  layer: LayerId,
  source: LayerSource<E, R>,
  handler: EntryHandler,
  isFailure: (u: unknown) => u is EH,
  options: PipeOptions
): Effect.Effect<LayerRead<EH>, E | EH | PipeError, R> => {
  const afterBatch = options.afterBatch ?? (() => Effect.void)
  return Effect.acquireUseRelease(
    Effect.sync(() =>
      new Pipe<EH>(layer, source, handler, isFailure, options.maxLayerBytes, options.tarHasher, options.backlog)
    ),
    (pipe) =>
      Stream.runForEachChunk(source.bytes, (chunks) => Effect.zipRight(pipe.write(chunks), afterBatch())).pipe(
        Effect.zipRight(Effect.suspend(() => pipe.finish())),
        Effect.map((): LayerRead<EH> => ({ tarBytes: pipe.tarBytes, verified: pipe.verified() }))
      ),
    (pipe, exit) => pipe.release(exit)
  )
}
