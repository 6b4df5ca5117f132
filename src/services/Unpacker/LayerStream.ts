// What the unpacker knows of a layer before reading it (descriptor, diff_id, compression), and how its blob
// gets verified (`verifyBlob`: on the way into the layer pipe, or into a spool file while it downloads
// ahead) before the pipe checks the tar stream.
import { Effect, Either, Option, type Stream } from "effect"
import * as ContentCheck from "../../domain/ContentCheck.js"
import type * as Digest from "../../domain/Digest.js"
import * as MediaType from "../../domain/MediaType.js"
import type { FileLane } from "./FileLane.js"
import type { ApplyOptions, LayerFailure, PipelinedLayer } from "./LayerApplier.js"
import { applyLayerPipelined } from "./LayerApplier.js"
import type { LayerId } from "./UnpackError.js"
import { LayerDigestMismatch, LayerSizeMismatch, UnsupportedLayerMediaType } from "./UnpackError.js"

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

/** `blob` checked against `descriptor`, unless its source checks it already (`descriptor.verified`). */
export const checkedBlob = <E, R>(
  layer: LayerId,
  descriptor: LayerDescriptor,
  blob: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | VerifyError, R> =>
  descriptor.verified === true ? blob : blob.pipe(verifyBlob(layer, descriptor.digest, descriptor.size))

/**
 * Verifies, decompresses and applies one layer onto `root` from `blob`: its stored bytes, checked against
 * the descriptor unless `checked` says that happened already (a spool file verified on the way in). It
 * succeeds once the blob is read and verified, with the diff_id check and the lane's last writes still to
 * come (`PipelinedLayer.verified`).
 */
export const applyVerified = <E, R>(
  root: string,
  layer: LayerId,
  descriptor: LayerDescriptor,
  blob: Stream.Stream<Uint8Array, E, R>,
  lane: FileLane,
  options: ApplyOptions = {},
  checked = false
): Effect.Effect<PipelinedLayer, E | VerifyError | LayerFailure | UnsupportedLayerMediaType, R> =>
  Effect.suspend((): Effect.Effect<PipelinedLayer, E | VerifyError | LayerFailure | UnsupportedLayerMediaType, R> => {
    const compression = compressionOf(layer, descriptor.mediaType)
    if (Either.isLeft(compression)) return Effect.fail(compression.left)
    return applyLayerPipelined(root, layer, {
      bytes: checked ? blob : checkedBlob(layer, descriptor, blob),
      compression: compression.right,
      diffId: descriptor.diffId
    }, lane, options)
  })
