// The media types this client understands: manifests and indexes it can read, configs, and layers it can
// unpack. Layer types map to the decompression they need; any type not listed here is one the caller must
// refuse by name rather than guess at.
import { Option } from "effect"

export const OciManifest = "application/vnd.oci.image.manifest.v1+json"
export const OciIndex = "application/vnd.oci.image.index.v1+json"
export const DockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
export const DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"

export const OciConfig = "application/vnd.oci.image.config.v1+json"
export const DockerConfig = "application/vnd.docker.container.image.v1+json"

export const OciLayerTar = "application/vnd.oci.image.layer.v1.tar"
export const OciLayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
export const OciLayerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
export const OciLayerNondistributableTar = "application/vnd.oci.image.layer.nondistributable.v1.tar"
export const OciLayerNondistributableTarGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
export const OciLayerNondistributableTarZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
export const DockerLayerTarGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
/** Uncompressed Docker layers: not in the Docker spec's list, but written by `docker save` and accepted by containerd. */
export const DockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"
export const DockerForeignLayerTarGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/** Every manifest and index type, for the `Accept` header of a manifest request. */
export const manifestAccept: ReadonlyArray<string> = [OciManifest, OciIndex, DockerManifest, DockerManifestList]

export type LayerCompression = "none" | "gzip" | "zstd"

const compressionOf: ReadonlyMap<string, LayerCompression> = new Map([
  [OciLayerTar, "none"],
  [OciLayerTarGzip, "gzip"],
  [OciLayerTarZstd, "zstd"],
  [OciLayerNondistributableTar, "none"],
  [OciLayerNondistributableTarGzip, "gzip"],
  [OciLayerNondistributableTarZstd, "zstd"],
  [DockerLayerTarGzip, "gzip"],
  [DockerLayerTar, "none"],
  [DockerForeignLayerTarGzip, "gzip"]
])

/**
 * The type and subtype of a media type or `Content-Type` value, lowercased, without parameters
 * (`application/JSON; charset=utf-8` → `application/json`).
 */
export const essence = (mediaType: string): string => {
  const semicolon = mediaType.indexOf(";")
  return (semicolon < 0 ? mediaType : mediaType.slice(0, semicolon)).trim().toLowerCase()
}

/** How a layer of this media type is compressed; none for a type that is not a known layer type. */
export const layerCompression = (mediaType: string): Option.Option<LayerCompression> =>
  Option.fromNullable(compressionOf.get(essence(mediaType)))
