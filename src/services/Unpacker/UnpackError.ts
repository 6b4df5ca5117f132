// The failures an unpack can end with, as data: each names the layer (its index in the manifest) and,
// where one is to blame, the tar entry or file. Any of them leaves the destination as it was before.
import { Data } from "effect"

/** Which layer: its 0-based index in the manifest, or a caller-chosen label. */
export type LayerId = number | string

const layerLabel = (layer: LayerId): string => (typeof layer === "number" ? `layer #${layer}` : `layer ${layer}`)

const causeText = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** An entry that would create, change or delete something outside the destination, or reach it through a link. */
export class UnsafeLayerEntry extends Data.TaggedError("UnsafeLayerEntry")<{
  readonly layer: LayerId
  readonly entry: string
  readonly reason: string
}> {
  override get message(): string {
    return `${layerLabel(this.layer)}: refusing entry ${JSON.stringify(this.entry)}: ${this.reason}`
  }
}

/** An entry that cannot be applied as written (hard link to nothing, unknown entry type, truncated tar). */
export class MalformedLayer extends Data.TaggedError("MalformedLayer")<{
  readonly layer: LayerId
  readonly entry: string | undefined
  readonly reason: string
}> {
  override get message(): string {
    const where = this.entry === undefined ? "" : ` at entry ${JSON.stringify(this.entry)}`
    return `${layerLabel(this.layer)} is malformed${where}: ${this.reason}`
  }
}

/** A device node or fifo in a layer while the caller asked for `specialFiles: "fail"`. */
export class SpecialFileRefused extends Data.TaggedError("SpecialFileRefused")<{
  readonly layer: LayerId
  readonly entry: string
  readonly type: string
}> {
  override get message(): string {
    return `${layerLabel(this.layer)}: entry ${JSON.stringify(this.entry)} is a ${this.type}, which this unpack refuses`
  }
}

/** The uncompressed tar stream of a layer grew past `maxLayerBytes`. */
export class LayerTooLarge extends Data.TaggedError("LayerTooLarge")<{
  readonly layer: LayerId
  readonly limit: number
}> {
  override get message(): string {
    return `${layerLabel(this.layer)} inflates to more than ${this.limit} bytes (maxLayerBytes)`
  }
}

export class LayerDigestMismatch extends Data.TaggedError("LayerDigestMismatch")<{
  readonly layer: LayerId
  readonly expected: string
  readonly actual: string
}> {
  override get message(): string {
    return `${layerLabel(this.layer)} hashes to ${this.actual}, the manifest says ${this.expected}`
  }
}

/** The compressed blob is not the size its descriptor gives; `actual` is a lower bound when the blob ran long. */
export class LayerSizeMismatch extends Data.TaggedError("LayerSizeMismatch")<{
  readonly layer: LayerId
  readonly expected: number
  readonly actual: number
}> {
  override get message(): string {
    const seen = this.actual > this.expected ? `at least ${this.actual}` : `${this.actual}`
    return `${layerLabel(this.layer)} has ${seen} bytes, the manifest says ${this.expected}`
  }
}

export class DiffIdMismatch extends Data.TaggedError("DiffIdMismatch")<{
  readonly layer: LayerId
  readonly expected: string
  readonly actual: string
}> {
  override get message(): string {
    return `${layerLabel(this.layer)} uncompresses to a tar hashing to ${this.actual}, the config's diff_id is ${this.expected}`
  }
}

export class UnsupportedLayerMediaType extends Data.TaggedError("UnsupportedLayerMediaType")<{
  readonly layer: LayerId
  readonly mediaType: string
}> {
  override get message(): string {
    return `${layerLabel(this.layer)} has media type ${JSON.stringify(this.mediaType)}, which is not a layer type this client unpacks`
  }
}

export class DecompressionFailed extends Data.TaggedError("DecompressionFailed")<{
  readonly layer: LayerId
  readonly compression: string
  readonly reason: string
}> {
  override get message(): string {
    return `${layerLabel(this.layer)}: ${this.compression} decompression failed: ${this.reason}`
  }
}

/** `dest` exists and is not an empty directory, and the caller did not ask to replace it. */
export class DestinationExists extends Data.TaggedError("DestinationExists")<{
  readonly path: string
}> {
  override get message(): string {
    return `${this.path} already exists and is not empty (pass replace to overwrite it)`
  }
}

/** A file-system call failed; `path` is the file it was about. */
export class UnpackIoError extends Data.TaggedError("UnpackIoError")<{
  readonly path: string
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `${this.operation} ${this.path} failed: ${causeText(this.cause)}`
  }
}

/** Everything the layer applier can fail with. */
export type ApplyError = UnsafeLayerEntry | MalformedLayer | SpecialFileRefused | LayerTooLarge | UnpackIoError

/** Everything an unpack can fail with, besides the errors of the layer streams themselves. */
export type UnpackError =
  | ApplyError
  | LayerDigestMismatch
  | LayerSizeMismatch
  | DiffIdMismatch
  | UnsupportedLayerMediaType
  | DecompressionFailed
  | DestinationExists
