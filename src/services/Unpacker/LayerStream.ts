// The verification pipeline of one layer, in a single streaming pass: the compressed blob is hashed and
// counted against its descriptor, decompressed by media type, the tar stream hashed against the config's
// diff_id and bounded, and fed to the LayerApplier. A check that can only fail at the end fails the stream
// there, after the applier has seen every byte; the caller's staging makes that failure leave no trace.
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Effect, Either, Option, Stream } from "effect"
import { Decompress } from "fzstd"
import type { TransformOptions } from "node:stream"
import * as zlib from "node:zlib"
import * as ContentCheck from "../../domain/ContentCheck.js"
import * as Digest from "../../domain/Digest.js"
import * as MediaType from "../../domain/MediaType.js"
import type { ApplyOptions, LayerStats } from "./LayerApplier.js"
import { applyLayer } from "./LayerApplier.js"
import type { ApplyError, LayerId } from "./UnpackError.js"
import {
  DecompressionFailed,
  DiffIdMismatch,
  LayerDigestMismatch,
  LayerSizeMismatch,
  UnsupportedLayerMediaType
} from "./UnpackError.js"

/** What the manifest and the config say about one layer. */
export interface LayerDescriptor {
  readonly mediaType: string
  readonly digest: Digest.Digest
  readonly size: number
  readonly diffId: Digest.Digest
  /**
   * True when the blob stream already checks itself against `digest` and `size` (failing when it ends
   * otherwise), as the registry client's blobs do: the unpacker then does not hash it a second time.
   */
  readonly verified?: boolean
}

export type VerifyError = LayerDigestMismatch | LayerSizeMismatch

export type TarError = DecompressionFailed | DiffIdMismatch

// zstd gets its input in slices of this size, which bounds what one slice can inflate to before the
// downstream size limit gets a say (a zstd RLE block turns 4 bytes into 128 KiB). Node's gunzip needs no
// slicing: it stops inflating while its output buffer is full.
const zstdSlice = 1024

// Output chunks of gunzip: fewer, larger chunks mean fewer thread-pool jobs and stream steps per MiB.
const gzipOutputChunk = 256 * 1024

// Gunzip gets its input in pieces of at least this size: each write is at least one thread-pool job, and a
// job per 64 KiB socket read costs more in thread wake-ups than the inflating itself.
const gzipInputBatch = 1024 * 1024

// Gunzip inflates up to this many chunks ahead of the parser, so that its thread-pool jobs run while the
// main thread parses and applies rather than in turn with it. Its output is read in object mode: one read
// is one chunk, where a byte-mode read would concatenate (copy) all that is buffered.
const gzipReadAheadChunks = 16

// ZlibOptions omits the stream options that zlib streams pass on to their Transform.
export const gunzipOptions: zlib.ZlibOptions & TransformOptions = {
  chunkSize: gzipOutputChunk,
  readableObjectMode: true,
  readableHighWaterMark: gzipReadAheadChunks
}

const slices = (size: number) => (chunk: Uint8Array): ReadonlyArray<Uint8Array> => {
  if (chunk.length <= size) return [chunk]
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < chunk.length; offset += size) out.push(chunk.subarray(offset, offset + size))
  return out
}

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/** The compression of a layer media type, or the error naming a type this client does not unpack. */
export const compressionOf = (
  layer: LayerId,
  mediaType: string
): Either.Either<MediaType.LayerCompression, UnsupportedLayerMediaType> =>
  Option.match(MediaType.layerCompression(mediaType), {
    onNone: () => Either.left(new UnsupportedLayerMediaType({ layer, mediaType })),
    onSome: Either.right
  })

/**
 * Passes the compressed blob through while hashing and counting it: more bytes than `size` fail at once,
 * fewer, or a different digest, fail when the blob ends.
 */
export const verifyBlob = (layer: LayerId, digest: Digest.Digest, size: number) =>
  ContentCheck.check({ digest, size }, {
    size: (expected, actual) => new LayerSizeMismatch({ layer, expected, actual }),
    digest: (expected, actual) => new LayerDigestMismatch({ layer, expected, actual })
  })

/** Joins small chunks into pieces of at least `size` bytes (the last one, or one before a failure, may be shorter). */
export const coalesce = (size: number) => <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
  Stream.suspend(() => {
    let pending: Array<Uint8Array> = []
    let pendingBytes = 0
    const take = (): Array<Uint8Array> => {
      const joined = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes)
      pending = []
      pendingBytes = 0
      return [joined]
    }
    const joined = Stream.mapConcat(bytes, (chunk): ReadonlyArray<Uint8Array> => {
      if (pendingBytes === 0 && chunk.length >= size) return [chunk]
      pending.push(chunk)
      pendingBytes += chunk.length
      return pendingBytes >= size ? take() : []
    })
    const rest = Stream.suspend(() => Stream.fromIterable(pendingBytes > 0 ? take() : []))
    // What came before a failure still goes on, as it would have without the joining.
    return Stream.concat(joined, rest).pipe(Stream.catchAll((e) => Stream.concat(rest, Stream.fail(e))))
  })

const gunzip = (layer: LayerId) => <E, R>(compressed: Stream.Stream<Uint8Array, E, R>) =>
  NodeStream.pipeThroughDuplex(
    coalesce(gzipInputBatch)(compressed),
    () => zlib.createGunzip(gunzipOptions),
    (cause) => new DecompressionFailed({ layer, compression: "gzip", reason: reasonOf(cause) })
  )

const unzstd = (layer: LayerId) =>
<E, R>(compressed: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | DecompressionFailed, R> =>
  Stream.suspend(() => {
    const output: Array<Uint8Array> = []
    const decoder = new Decompress((block) => {
      if (block.length > 0) output.push(block)
    })
    const push = (chunk: Uint8Array, final: boolean) =>
      Effect.try({
        try: () => {
          decoder.push(chunk, final)
          return output.splice(0)
        },
        catch: (cause) => new DecompressionFailed({ layer, compression: "zstd", reason: reasonOf(cause) })
      })
    return Stream.mapConcat(compressed, slices(zstdSlice)).pipe(
      Stream.mapConcatEffect((slice) => push(slice, false)),
      Stream.concat(Stream.mapConcatEffect(Stream.succeed(new Uint8Array(0)), (end) => push(end, true)))
    )
  })

export const decompress = (layer: LayerId, compression: MediaType.LayerCompression) =>
<E, R>(compressed: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | DecompressionFailed, R> => {
  switch (compression) {
    case "none":
      return compressed
    case "gzip":
      return gunzip(layer)(compressed)
    case "zstd":
      return unzstd(layer)(compressed)
  }
}

/** Passes the tar stream through while hashing it; a hash other than `diffId` fails the stream at its end. */
export const verifyDiffId = (layer: LayerId, diffId: Digest.Digest) =>
<E, R>(tar: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | DiffIdMismatch, R> =>
  Stream.suspend(() => {
    const hasher = Digest.hasher(Digest.algorithm(diffId))
    const atEnd = Effect.suspend(() => {
      const actual = hasher.digest()
      return actual === diffId ? Effect.void : Effect.fail(new DiffIdMismatch({ layer, expected: diffId, actual }))
    })
    const hashed = Stream.mapChunks(tar, (chunks) => {
      for (const chunk of chunks) hasher.update(chunk)
      return chunks
    })
    return Stream.concat(hashed, Stream.execute(atEnd))
  })

/** The verified tar stream of a compressed blob whose digest and size were checked already (a spool file). */
export const tarOf = <E, R>(
  layer: LayerId,
  descriptor: LayerDescriptor,
  checkedBlob: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | TarError | UnsupportedLayerMediaType, R> =>
  Either.match(compressionOf(layer, descriptor.mediaType), {
    onLeft: Stream.fail,
    onRight: (compression) =>
      checkedBlob.pipe(decompress(layer, compression), verifyDiffId(layer, descriptor.diffId))
  })

/** Verifies, decompresses and applies one layer onto `root` straight from its blob stream. */
export const applyVerified = <E, R>(
  root: string,
  layer: LayerId,
  descriptor: LayerDescriptor,
  blob: Stream.Stream<Uint8Array, E, R>,
  options: ApplyOptions = {}
): Effect.Effect<LayerStats, E | VerifyError | TarError | UnsupportedLayerMediaType | ApplyError, R> =>
  Effect.suspend(() => {
    const compression = compressionOf(layer, descriptor.mediaType)
    if (Either.isLeft(compression)) return Effect.fail(compression.left)
    const checked = descriptor.verified === true ? blob : blob.pipe(verifyBlob(layer, descriptor.digest, descriptor.size))
    return applyLayer(root, layer, tarOf(layer, descriptor, checked), options)
  })
