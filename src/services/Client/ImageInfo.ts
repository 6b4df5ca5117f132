/**
 * What `getImageInfo` learns about an image before any layer is fetched: the resolved manifest, its parsed
 * and raw config, annotations and layer descriptors. Enough to decide whether a re-download is needed, and
 * everything `unpackImage` needs to fetch and verify the layers.
 */
import { Data } from "effect"
import type { Descriptor } from "../../domain/Descriptor.js"
import type * as Digest from "../../domain/Digest.js"
import type { ImageConfig } from "../../domain/ImageConfig.js"
import type { ImageManifest } from "../../domain/Manifest.js"
import type { Platform } from "../../domain/Platform.js"

export interface ImageInfo {
  readonly appName: string
  /** The reference as asked for (tag or digest). */
  readonly reference: string
  /** Digest of the image manifest (not of the index it was picked from). */
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly manifest: ImageManifest
  readonly manifestBytes: Uint8Array
  readonly config: ImageConfig
  /** The config blob exactly as served; it hashes to `manifest.config.digest`. */
  readonly configBytes: Uint8Array
  /** The manifest's annotations (empty when it has none). */
  readonly annotations: Readonly<Record<string, string>>
  readonly layers: ReadonlyArray<Descriptor>
  /** Set when the reference named an index: the platform whose manifest was chosen, and the index digest. */
  readonly selectedFrom?: { readonly indexDigest: Digest.Digest; readonly platform: Platform }
}

/** The reference resolved to an index that lists no manifest for the wanted platform. */
export class PlatformNotFound extends Data.TaggedError("PlatformNotFound")<{
  readonly appName: string
  readonly reference: string
  readonly wanted: string
  readonly available: ReadonlyArray<string>
}> {
  override get message(): string {
    const offer = this.available.length === 0 ? "none" : this.available.join(", ")
    return `${this.appName}:${this.reference} has no image for ${this.wanted} (available: ${offer})`
  }
}

/** The manifest is not a runnable image (an artifact, a nested index, an unknown config type). */
export class NotAnImage extends Data.TaggedError("NotAnImage")<{
  readonly appName: string
  readonly reference: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.appName}:${this.reference} is not an image: ${this.reason}`
  }
}

/** The config lists a different number of diff_ids than the manifest has layers: no layer can be trusted. */
export class LayerCountMismatch extends Data.TaggedError("LayerCountMismatch")<{
  readonly appName: string
  readonly digest: string
  readonly layers: number
  readonly diffIds: number
}> {
  override get message(): string {
    return `${this.appName}@${this.digest}: ${this.layers} layers but ${this.diffIds} diff_ids in the config`
  }
}
