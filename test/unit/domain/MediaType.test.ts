import { Option } from "effect"
import { describe, expect, it } from "vitest"
import * as MediaType from "../../../src/domain/MediaType.js"

describe("MediaType.manifestAccept", () => {
  it("lists the OCI manifest and index and the Docker manifest and manifest list", () => {
    expect([...MediaType.manifestAccept].sort()).toStrictEqual([
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.manifest.v1+json"
    ])
  })
})

describe("MediaType.layerCompression", () => {
  it.each([
    ["application/vnd.oci.image.layer.v1.tar", "none"],
    ["application/vnd.oci.image.layer.v1.tar+gzip", "gzip"],
    ["application/vnd.oci.image.layer.v1.tar+zstd", "zstd"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar", "none"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "gzip"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "zstd"],
    ["application/vnd.docker.image.rootfs.diff.tar.gzip", "gzip"],
    ["application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "gzip"],
    ["application/vnd.docker.image.rootfs.diff.tar", "none"]
  ])("reads %s as %s", (mediaType, compression) => {
    expect(MediaType.layerCompression(mediaType)).toStrictEqual(Option.some(compression))
  })

  it.each([
    MediaType.OciConfig,
    MediaType.OciManifest,
    "application/vnd.oci.image.layer.v1.tar+bzip2",
    "application/octet-stream",
    ""
  ])("knows no compression for %s, which is not a layer type it can unpack", (mediaType) => {
    expect(MediaType.layerCompression(mediaType)).toStrictEqual(Option.none())
  })

  it("ignores parameters and letter case", () => {
    expect(MediaType.layerCompression("Application/VND.OCI.image.layer.v1.tar+gzip; foo=bar")).toStrictEqual(
      Option.some("gzip")
    )
  })
})

describe("MediaType.essence", () => {
  it("drops parameters, whitespace and case", () => {
    expect(MediaType.essence(" Application/JSON ; charset=utf-8")).toBe("application/json")
    expect(MediaType.essence(MediaType.OciIndex)).toBe(MediaType.OciIndex)
  })
})
