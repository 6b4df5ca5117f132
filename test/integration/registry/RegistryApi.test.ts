import { expect, layer } from "@effect/vitest"
import { Chunk, Effect, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import * as Config from "../../../src/domain/Config.js"
import * as MediaType from "../../../src/domain/MediaType.js"
import * as Client from "../../../src/services/Client/Client.js"
import { RegistryApi } from "../../../src/services/RegistryApi/RegistryApi.js"
import { otherPlatform, SeededRegistry, seededRegistry } from "./SeededRegistry.js"

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/** Runs `use` with a client of the seeded registry over plain HTTP. */
const withClient = <A, E>(use: (client: Client.Client["Type"], registry: RegistryApi["Type"]) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const { registry } = yield* SeededRegistry
    const config = Config.builder().host(registry.host).noTls()
    return yield* Effect.flatMap(Effect.all([Client.Client, RegistryApi]), ([c, r]) => use(c, r)).pipe(
      Effect.provide(Client.layer(config))
    )
  })

layer(seededRegistry(), { timeout: "120 seconds", excludeTestServices: true })("registry API against the real Distribution registry", (it) => {
  it.effect("an OCI manifest fetched by tag is byte for byte what was pushed", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const response = yield* withClient((_, api) => api.getManifest("some/app", "v1"))
      expect(Buffer.from(response.bytes).equals(Buffer.from(oci.bytes))).toBe(true)
      expect(response.digest).toBe(oci.digest)
      expect(response.mediaType).toBe(MediaType.OciManifest)
    }))

  it.effect("a manifest fetched by digest verifies against that digest", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const response = yield* withClient((_, api) => api.getManifest("some/app", oci.digest))
      expect(response.digest).toBe(oci.digest)
      expect(response.manifest._tag).toBe("Image")
    }))

  it.effect("a Docker schema 2 manifest pushed in chunks is read with its Docker media type", () =>
    Effect.gen(function* () {
      const { docker } = yield* SeededRegistry
      const response = yield* withClient((_, api) => api.getManifest("docker/app", "v1"))
      expect(response.mediaType).toBe(MediaType.DockerManifest)
      expect(response.digest).toBe(docker.digest)
    }))

  it.effect("HEAD on a manifest gives its digest and size without the body", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const head = yield* withClient((_, api) => api.headManifest("some/app", "v1"))
      expect(head.digest).toEqual(Option.some(oci.digest))
      expect(head.size).toEqual(Option.some(oci.size))
    }))

  it.effect("a layer blob streams with exactly the pushed bytes", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const layer = oci.layers[1]!
      const bytes = yield* withClient((_, api) =>
        Stream.runCollect(api.getBlob("some/app", layer.digest, { size: layer.size })).pipe(
          Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks)))
        ))
      expect(sha256(bytes)).toBe(layer.digest)
      expect(bytes.length).toBe(layer.size)
    }))

  it.effect("a blob with a wrong expected size is refused", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const layer = oci.layers[0]!
      const error = yield* withClient((_, api) => Stream.runDrain(api.getBlob("some/app", layer.digest, { size: layer.size - 1 }))).pipe(Effect.flip)
      expect(error._tag).toBe("SizeMismatch")
    }))

  it.effect("getImageInfo returns the manifest, verified config, annotations and layers", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const info = yield* withClient((client) => client.getImageInfo("some/app", "v1"))
      expect(info.digest).toBe(oci.digest)
      expect(sha256(info.configBytes)).toBe(oci.config.digest)
      expect(info.config.rootfs.diff_ids).toEqual(oci.layers.map((l) => l.diffId))
      expect(info.annotations).toEqual({ "org.opencontainers.image.version": "1.0.0" })
      expect(info.layers.map((l) => l.digest)).toEqual(oci.layers.map((l) => l.digest))
      expect(info.selectedFrom).toBeUndefined()
    }))

  it.effect("an OCI index resolves to the manifest of this host's platform by default", () =>
    Effect.gen(function* () {
      const { index } = yield* SeededRegistry
      const info = yield* withClient((client) => client.getImageInfo("multi/app", "latest"))
      const forHost = index.manifests[1]!
      expect(info.digest).toBe(forHost.digest)
      expect(info.selectedFrom?.indexDigest).toBe(index.digest)
      expect(info.config.architecture).toBe(forHost.platform.architecture)
    }))

  it.effect("a Docker manifest list resolves to the platform asked for", () =>
    Effect.gen(function* () {
      const { manifestList } = yield* SeededRegistry
      const wanted = `${otherPlatform.os}/${otherPlatform.architecture}`
      const info = yield* withClient((client) => client.getImageInfo("multi/docker", "latest", { platform: wanted }))
      expect(info.digest).toBe(manifestList.manifests[0]!.digest)
      expect(info.mediaType).toBe(MediaType.DockerManifest)
    }))

  it.effect("an index without the wanted platform fails with PlatformNotFound listing what it has", () =>
    Effect.gen(function* () {
      const error = yield* withClient((client) => client.getImageInfo("multi/app", "latest", { platform: "linux/s390x" })).pipe(Effect.flip)
      expect(error._tag).toBe("PlatformNotFound")
      expect(error._tag === "PlatformNotFound" && error.available.length).toBe(2)
    }))

  it.effect("list-tags with n and last gives the n tags after last", () =>
    Effect.gen(function* () {
      const page = yield* withClient((_, api) => api.listTags("many/tags", { n: 5, last: "t003" }))
      expect(page.tags).toEqual(["t004", "t005", "t006", "t007", "t008"])
    }))

  it.effect("listing all 250 tags page by page yields each tag once, in order", () =>
    Effect.gen(function* () {
      const { tags } = yield* SeededRegistry
      const all = yield* withClient((_, api) => Stream.runCollect(api.listAllTags("many/tags", { pageSize: 100 })))
      expect(Chunk.toArray(all)).toEqual(tags)
    }))

  it.effect("an unknown repository fails with NAME_UNKNOWN", () =>
    Effect.gen(function* () {
      const error = yield* withClient((_, api) => api.listTags("no/such/app")).pipe(Effect.flip)
      expect(error._tag === "RegistryError" && error.code).toBe("NAME_UNKNOWN")
    }))

  it.effect("an unknown tag fails with MANIFEST_UNKNOWN", () =>
    Effect.gen(function* () {
      const error = yield* withClient((_, api) => api.getManifest("some/app", "v404")).pipe(Effect.flip)
      expect(error._tag === "RegistryError" && error.code).toBe("MANIFEST_UNKNOWN")
      expect(error.message).toContain("v404")
    }))

  it.effect("an unknown blob digest fails with BLOB_UNKNOWN", () =>
    Effect.gen(function* () {
      const missing = sha256(Buffer.from("never pushed"))
      const error = yield* withClient((_, api) => Stream.runDrain(api.getBlob("some/app", missing))).pipe(Effect.flip)
      expect(error._tag === "RegistryError" && error.code).toBe("BLOB_UNKNOWN")
    }))

  it.effect("ping succeeds against the registry's /v2/", () => withClient((_, api) => api.ping()))
})
