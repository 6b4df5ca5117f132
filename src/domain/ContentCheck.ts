/**
 * The one stream stage that hashes and counts bytes as they pass: it fails as soon as the count passes the
 * expected size (so an endless body is cut early), and at the end when the count falls short or the hash
 * differs. Callers choose the errors, so the registry client and the unpacker each report in their terms.
 */
import { Effect, Stream } from "effect"
import * as Digest from "./Digest.js"

export interface Expected {
  readonly digest: Digest.Digest
  /** Unchecked when absent. */
  readonly size?: number | undefined
}

export interface Mismatches<ES, ED> {
  readonly size: (expected: number, actual: number) => ES
  readonly digest: (expected: Digest.Digest, actual: Digest.Digest) => ED
}

export const check =
  <ES, ED>(expected: Expected, mismatch: Mismatches<ES, ED>) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | ES | ED, R> =>
    Stream.suspend(() => {
      const hasher = Digest.hasher(Digest.algorithm(expected.digest))
      const limit = expected.size
      let seen = 0
      const passThrough = Stream.mapChunksEffect(self, (chunks) => {
        for (const chunk of chunks) {
          seen += chunk.length
          if (limit !== undefined && seen > limit) return Effect.fail(mismatch.size(limit, seen))
          hasher.update(chunk)
        }
        return Effect.succeed(chunks)
      })
      const atEnd = Effect.suspend((): Effect.Effect<void, ES | ED> => {
        if (limit !== undefined && seen !== limit) return Effect.fail(mismatch.size(limit, seen))
        const actual = hasher.digest()
        return actual === expected.digest ? Effect.void : Effect.fail(mismatch.digest(expected.digest, actual))
      })
      return Stream.concat(passThrough, Stream.execute(atEnd))
    })
