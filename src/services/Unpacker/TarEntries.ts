// Reads a tar stream entry by entry with tar-stream: the bytes come from an Effect Stream, each entry is
// handed in order to an Effect that must read (or skip) its body, and backpressure runs from the entry
// body back to the byte stream, so a large file never sits in memory.
import { Data, Effect, Stream } from "effect"
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

export interface TarEntry {
  readonly header: TarHeader
  /** Runs `f` on each chunk of the body in order; call at most once, and only while the entry is current. */
  readonly forEachChunk: <E, R>(f: (chunk: Uint8Array) => Effect.Effect<void, E, R>) => Effect.Effect<void, E | MalformedTar, R>
}

/** The bytes are not a tar archive, or it ends in the middle of an entry. */
export class MalformedTar extends Data.TaggedError("MalformedTar")<{ readonly reason: string }> {}

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

interface Sink {
  write(chunk: Uint8Array): boolean
  once(event: "drain", listener: () => void): unknown
  off(event: "drain", listener: () => void): unknown
}

const write = (writable: Sink, chunk: Uint8Array): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (writable.write(chunk)) {
      resume(Effect.void)
      return
    }
    const onDrain = () => resume(Effect.void)
    writable.once("drain", onDrain)
    return Effect.sync(() => writable.off("drain", onDrain))
  })

interface Body {
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>
}

const readBody = (body: Body) =>
<E, R>(f: (chunk: Uint8Array) => Effect.Effect<void, E, R>): Effect.Effect<void, E | MalformedTar, R> =>
  Effect.suspend(() => {
    const chunks = body[Symbol.asyncIterator]()
    const next = Effect.tryPromise({
      try: () => chunks.next(),
      catch: (cause) => new MalformedTar({ reason: reasonOf(cause) })
    })
    const loop: Effect.Effect<void, E | MalformedTar, R> = Effect.flatMap(
      next,
      (result) => (result.done === true ? Effect.void : Effect.zipRight(f(result.value), loop))
    )
    return loop
  })

/**
 * Feeds `bytes` to a tar parser and runs `handle` on each entry, one after the other. Whatever part of a
 * body `handle` leaves unread is skipped. Fails with the first failure of the bytes, the parser or `handle`.
 */
export const forEachEntry = <E, R, E2, R2>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  handle: (entry: TarEntry) => Effect.Effect<void, E2, R2>
): Effect.Effect<void, E | E2 | MalformedTar, R | R2> =>
  Effect.acquireUseRelease(
    // Old (v7) tars have no magic; the header checksum still guards against reading garbage.
    Effect.sync(() => tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0])),
    (extract) => {
      const entries = extract[Symbol.asyncIterator]()
      const feed = Stream.runForEach(bytes, (chunk) => write(extract as unknown as Sink, chunk)).pipe(
        Effect.zipRight(Effect.sync(() => extract.end(undefined)))
      )
      const nextEntry = Effect.tryPromise({
        try: () => entries.next(),
        catch: (cause) => new MalformedTar({ reason: reasonOf(cause) })
      })
      const consume: Effect.Effect<void, E2 | MalformedTar, R2> = Effect.flatMap(nextEntry, (result) => {
        if (result.done === true) return Effect.void
        const body = result.value
        const entry: TarEntry = {
          header: body.header as unknown as TarHeader,
          forEachChunk: readBody(body as unknown as Body)
        }
        return handle(entry).pipe(
          Effect.zipRight(Effect.sync(() => body.resume())),
          Effect.zipRight(consume)
        )
      })
      return Effect.all([feed, consume], { concurrency: 2, discard: true })
    },
    (extract) => Effect.sync(() => extract.destroy())
  )
