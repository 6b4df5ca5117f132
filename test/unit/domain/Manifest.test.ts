import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Digest from "../../../src/domain/Digest.js"
import * as Manifest from "../../../src/domain/Manifest.js"
import * as MediaType from "../../../src/domain/MediaType.js"
import * as IsletImage from "./fixtures/IsletImage.js"

const bytes = (value: unknown): Uint8Array =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value, null, 2))

const failure = (result: Either.Either<Manifest.Manifest, Manifest.InvalidManifest>): Manifest.InvalidManifest =>
  Either.getOrThrow(Either.flip(result))

// The image manifest example of the OCI image spec (manifest.md).
const ociManifest = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {
    mediaType: "application/vnd.oci.image.config.v1+json",
    digest: "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",
    size: 7023
  },
  layers: [
    {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0",
      size: 32654
    },
    {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b",
      size: 16724
    },
    {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736",
      size: 73109
    }
  ],
  subject: {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
    size: 7682
  },
  annotations: { "com.example.key1": "value1", "com.example.key2": "value2" }
}

// A Docker image manifest, version 2, schema 2, as `docker push` writes it.
const dockerManifest = {
  schemaVersion: 2,
  mediaType: "application/vnd.docker.distribution.manifest.v2+json",
  config: {
    mediaType: "application/vnd.docker.container.image.v1+json",
    size: 7023,
    digest: "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
  },
  layers: [
    {
      mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
      size: 32654,
      digest: "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
    },
    {
      mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
      size: 16724,
      digest: "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"
    }
  ]
}

// The image index example of the OCI image spec (image-index.md): one ppc64le and one amd64 image.
const ociIndex = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 7143,
      digest: "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
      platform: { architecture: "ppc64le", os: "linux" }
    },
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 7682,
      digest: "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
      platform: { architecture: "amd64", os: "linux" }
    }
  ],
  annotations: { "com.example.key1": "value1", "com.example.key2": "value2" }
}

// A Docker manifest list with an arm/v7 and an amd64 image.
const dockerManifestList = {
  schemaVersion: 2,
  mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
  manifests: [
    {
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      size: 7143,
      digest: "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
      platform: { architecture: "arm", os: "linux", variant: "v7" }
    },
    {
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      size: 7682,
      digest: "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
      platform: { architecture: "amd64", os: "linux", features: ["sse4"] }
    }
  ]
}

describe("Manifest.decode of real-world documents", () => {
  it("reads an OCI image manifest with its config, layers, subject and annotations", () => {
    const manifest = Either.getOrThrow(Manifest.decode(bytes(ociManifest), MediaType.OciManifest))
    expect(manifest).toStrictEqual(Manifest.Image({ mediaType: MediaType.OciManifest, manifest: ociManifest as never }))
    expect(Manifest.is("Image")(manifest) && manifest.manifest.layers.map((l) => l.size)).toStrictEqual([
      32654,
      16724,
      73109
    ])
  })

  it("reads a Docker schema 2 manifest as an image manifest", () => {
    const manifest = Either.getOrThrow(Manifest.decode(bytes(dockerManifest), MediaType.DockerManifest))
    expect(manifest._tag).toBe("Image")
    expect(manifest.mediaType).toBe(MediaType.DockerManifest)
    expect(Manifest.is("Image")(manifest) && manifest.manifest.config.mediaType).toBe(MediaType.DockerConfig)
  })

  it("reads an OCI index with two platforms", () => {
    const manifest = Either.getOrThrow(Manifest.decode(bytes(ociIndex), MediaType.OciIndex))
    expect(manifest._tag).toBe("Index")
    expect(Manifest.is("Index")(manifest) && manifest.index.manifests.map((m) => m.platform?.architecture))
      .toStrictEqual(["ppc64le", "amd64"])
  })

  it("reads a Docker manifest list as an index", () => {
    const manifest = Either.getOrThrow(Manifest.decode(bytes(dockerManifestList), MediaType.DockerManifestList))
    expect(manifest).toStrictEqual(
      Manifest.Index({ mediaType: MediaType.DockerManifestList, index: dockerManifestList as never })
    )
  })

  it("reads the original client's test image, index and manifest, byte for byte", () => {
    const manifestBytes = bytes(IsletImage.manifest)
    expect(Digest.fromBytes(manifestBytes)).toBe(IsletImage.manifestDigest)
    const manifest = Either.getOrThrow(Manifest.decode(manifestBytes, undefined))
    expect(Manifest.is("Image")(manifest) && manifest.manifest.config.digest).toBe(IsletImage.configDigest)
    const index = Either.getOrThrow(Manifest.decode(bytes(IsletImage.index), undefined))
    expect(Manifest.is("Index")(index) && index.index.manifests[0]?.digest).toBe(IsletImage.manifestDigest)
  })

  it("drops fields it does not know instead of refusing the document", () => {
    const manifest = Either.getOrThrow(Manifest.decode(bytes({ ...ociManifest, extra: { a: 1 } }), undefined))
    expect(Manifest.is("Image")(manifest) && "extra" in manifest.manifest).toBe(false)
  })
})

describe("Manifest.decode choosing the media type", () => {
  it("takes the media type from Content-Type when the body has none", () => {
    const { mediaType: _, ...withoutType } = ociIndex
    const manifest = Either.getOrThrow(Manifest.decode(bytes(withoutType), MediaType.OciIndex))
    expect(manifest._tag).toBe("Index")
    expect(manifest.mediaType).toBe(MediaType.OciIndex)
  })

  it("ignores Content-Type parameters and case", () => {
    const contentType = "Application/vnd.oci.image.manifest.v1+json; charset=utf-8"
    expect(Either.isRight(Manifest.decode(bytes(ociManifest), contentType))).toBe(true)
  })

  it("takes the body's media type when there is no Content-Type", () => {
    expect(Either.getOrThrow(Manifest.decode(bytes(dockerManifest), undefined)).mediaType).toBe(MediaType.DockerManifest)
  })

  it("treats a generic application/json Content-Type as saying nothing", () => {
    expect(Either.getOrThrow(Manifest.decode(bytes(ociIndex), "application/json")).mediaType).toBe(MediaType.OciIndex)
  })

  it("refuses a body whose mediaType disagrees with Content-Type", () => {
    const error = failure(Manifest.decode(bytes(ociManifest), MediaType.OciIndex))
    expect(error._tag).toBe("InvalidManifest")
    expect(error.reason).toBe(
      `the body declares mediaType "${MediaType.OciManifest}" but the Content-Type is "${MediaType.OciIndex}"`
    )
  })

  it("refuses a document whose media type is known from nowhere", () => {
    const { mediaType: _, ...withoutType } = ociManifest
    expect(failure(Manifest.decode(bytes(withoutType), undefined)).reason).toMatch(/^no media type/)
    expect(failure(Manifest.decode(bytes(withoutType), "application/json")).reason).toMatch(/^no media type/)
  })

  it("refuses a Docker schema 1 manifest, naming its type", () => {
    const schema1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    const error = failure(
      Manifest.decode(bytes({ schemaVersion: 1, name: "library/ubuntu", tag: "latest", fsLayers: [] }), schema1)
    )
    expect(error.mediaType).toBe(schema1)
    expect(error.message).toMatch(/^invalid manifest \(media type "application\/vnd\.docker\.distribution\.manifest\.v1\+prettyjws"\): unsupported media type/)
  })

  it("refuses a body that claims to be an index but is shaped like a manifest", () => {
    const error = failure(Manifest.decode(bytes({ ...ociManifest, mediaType: MediaType.OciIndex }), undefined))
    expect(error.reason).toBe("manifests: is missing")
  })
})

describe("Manifest.decode of broken documents", () => {
  it("names the path of a bad layer digest", () => {
    const broken = { ...ociManifest, layers: [ociManifest.layers[0], { ...ociManifest.layers[1], digest: "sha256:abc" }] }
    expect(failure(Manifest.decode(bytes(broken), undefined)).reason).toBe(
      "layers[1].digest: sha256 needs 64 lowercase hex characters, got 3"
    )
  })

  it("names the path of a negative size", () => {
    const broken = { ...ociManifest, config: { ...ociManifest.config, size: -1 } }
    expect(failure(Manifest.decode(bytes(broken), undefined)).reason).toMatch(/^config\.size: /)
  })

  it("refuses a schemaVersion other than 2", () => {
    expect(failure(Manifest.decode(bytes({ ...ociManifest, schemaVersion: 1 }), undefined)).reason).toMatch(
      /^schemaVersion: Expected 2, actual 1/
    )
  })

  it("refuses text that is not JSON", () => {
    expect(failure(Manifest.decode(bytes("{\"schemaVersion\": 2,"), MediaType.OciManifest)).reason).toMatch(
      /^not valid JSON: /
    )
  })

  it("refuses bytes that are not UTF-8", () => {
    expect(failure(Manifest.decode(new Uint8Array([0x7b, 0xff, 0x7d]), MediaType.OciManifest)).reason).toBe(
      "not valid UTF-8"
    )
  })

  it("refuses JSON that is not an object", () => {
    expect(failure(Manifest.decode(bytes("[]"), MediaType.OciManifest)).reason).toBe("the document is not a JSON object")
    expect(failure(Manifest.decode(bytes("null"), MediaType.OciManifest)).reason).toBe(
      "the document is not a JSON object"
    )
  })

  it("refuses a mediaType field that is not a string", () => {
    expect(failure(Manifest.decode(bytes({ ...ociManifest, mediaType: 2 }), undefined)).reason).toBe(
      "mediaType: expected a string"
    )
  })

  it("keeps a JSON parser message on one line when it quotes a line break of the input", () => {
    const reason = failure(Manifest.decode(new Uint8Array([10, 0]), undefined)).reason
    expect(reason).toMatch(/^not valid JSON: /)
    expect(reason).not.toMatch(/[\u0000-\u001f]/)
  })

  it("never throws and keeps messages on one line, whatever the bytes", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array(), fc.json().map((j) => new TextEncoder().encode(j))),
        fc.option(fc.constantFrom(...MediaType.manifestAccept, "text/html\nX: y"), { nil: undefined }),
        (body, contentType) => {
          Either.mapLeft(Manifest.decode(body, contentType), (e) => expect(e.message).not.toMatch(/[\n\r]/))
        }
      )
    )
  })
})
