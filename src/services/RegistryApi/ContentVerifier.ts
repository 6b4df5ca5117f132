/**
 * A stream stage that lets bytes through while hashing and counting them: it fails as soon as the count
 * passes the expected size (so an endless body is cut early), and at the end when the count falls short or
 * the hash differs. Nothing downstream may treat the bytes as trusted before the stream has ended cleanly.
 */
import { Effect, Stream } from "effect"
import * as Digest from "../../domain/Digest.js"
import { DigestMismatch, SizeMismatch } from "./RegistryErrors.js"

export interface Expected {
  /** Names the content in error messages, e.g. `blob sha256:… of some/app`. */
  readonly subject: string
  readonly digest: Digest.Digest
  readonly size?: number | undefined
}

export const verifyContent =
  (expected: Expected) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | DigestMismatch | SizeMismatch, R> =>
    Stream.suspend(() => {
      const hasher = Digest.hasher(Digest.algorithm(expected.digest))
      let seen = 0
      const limit = expected.size
      const passThrough = self.pipe(
        Stream.mapChunksEffect((chunks) => {
          for (const chunk of chunks) {
            seen += chunk.length
            if (limit !== undefined && seen > limit) {
              return Effect.fail(new SizeMismatch({ subject: expected.subject, expected: limit, actual: seen }))
            }
            hasher.update(chunk)
          }
          return Effect.succeed(chunks)
        })
      )
      const finalCheck = Effect.suspend((): Effect.Effect<void, DigestMismatch | SizeMismatch> => {
        if (limit !== undefined && seen !== limit) {
          return Effect.fail(new SizeMismatch({ subject: expected.subject, expected: limit, actual: seen }))
        }
        const actual = hasher.digest()
        return actual === expected.digest
          ? Effect.void
          : Effect.fail(new DigestMismatch({ subject: expected.subject, expected: expected.digest, actual }))
      })
      return Stream.concat(passThrough, Stream.drain(Stream.fromEffect(finalCheck)))
    })
