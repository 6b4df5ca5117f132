/**
 * A real Distribution registry loaded with the images the registry-API tests read: an OCI image, a Docker
 * schema 2 image, an OCI index and a Docker manifest list with two platforms each, and a repository with
 * 250 tags. Shared by the tests of one file through an @effect/vitest layer.
 */
import { Context, Effect, Layer } from "effect"
import { startFaultProxy, type FaultProxy } from "../../registry-fixture/FaultProxy.js"
import { Entry, buildImage, buildIndex, buildLayer, hostPlatform, type BuiltImage, type BuiltIndex } from "../../registry-fixture/ImageBuilder.js"
import { pushImage, pushManifest } from "../../registry-fixture/Push.js"
import { RegistryFixture, type RegistryOptions, type RunningRegistry } from "../../registry-fixture/Registry.js"

export const otherPlatform = { os: "linux", architecture: process.arch === "arm64" ? "amd64" : "arm64", ...(process.arch === "arm64" ? {} : { variant: "v8" }) }

export interface Seeded {
  readonly registry: RunningRegistry
  readonly oci: BuiltImage
  readonly docker: BuiltImage
  readonly index: BuiltIndex
  readonly manifestList: BuiltIndex
  readonly tags: ReadonlyArray<string>
}

export class SeededRegistry extends Context.Tag("test/SeededRegistry")<SeededRegistry, Seeded>() {}

const seed = Effect.gen(function* () {
  const registry = yield* RegistryFixture
  const target = { url: registry.url, ...(registry.caPem === undefined ? {} : { caPem: registry.caPem }) }
  const layer = (text: string, compression: "gzip" | "zstd" | "none" = "gzip") =>
    buildLayer([Entry.directory("etc"), Entry.file("etc/message", text, { mode: 0o644 })], { compression })

  const oci = buildImage({
    layers: [yield* layer("hello from oci\n"), yield* layer("second layer\n", "zstd")],
    annotations: { "org.opencontainers.image.version": "1.0.0" }
  })
  yield* pushImage(target, "some/app", "v1", oci)
  const docker = buildImage({ layers: [yield* layer("hello from docker\n")], format: "docker" })
  yield* pushImage(target, "docker/app", "v1", docker, { mode: "chunked", chunkSize: 64 })

  const forHost = buildImage({ layers: [yield* layer("host platform\n")], platform: hostPlatform() })
  const forOther = buildImage({ layers: [yield* layer("other platform\n")], platform: otherPlatform })
  const index = buildIndex([forOther, forHost])
  yield* pushImage(target, "multi/app", "latest", index)
  const dockerHost = buildImage({ layers: [yield* layer("host platform, docker\n")], platform: hostPlatform(), format: "docker" })
  const dockerOther = buildImage({ layers: [yield* layer("other platform, docker\n")], platform: otherPlatform, format: "docker" })
  const manifestList = buildIndex([dockerOther, dockerHost], { format: "docker" })
  yield* pushImage(target, "multi/docker", "latest", manifestList)

  const tags = Array.from({ length: 250 }, (_, i) => `t${String(i).padStart(3, "0")}`)
  yield* pushImage(target, "many/tags", tags[0]!, oci)
  yield* Effect.forEach(tags.slice(1), (tag) => pushManifest(target, "many/tags", tag, oci.bytes, oci.mediaType), {
    concurrency: 8,
    discard: true
  })
  return { registry, oci, docker, index, manifestList, tags } satisfies Seeded
})

export const seededRegistry = (options: RegistryOptions = {}): Layer.Layer<SeededRegistry, unknown> =>
  Layer.effect(SeededRegistry, seed).pipe(Layer.provide(RegistryFixture.layer(options)))

/** A fault-injecting proxy in front of the seeded registry. */
export class FaultProxyTag extends Context.Tag("test/FaultProxy")<FaultProxyTag, FaultProxy>() {}

export const seededRegistryWithProxy = (options: RegistryOptions = {}): Layer.Layer<SeededRegistry | FaultProxyTag, unknown> =>
  Layer.scoped(FaultProxyTag, Effect.flatMap(SeededRegistry, ({ registry }) => startFaultProxy({ url: registry.url }))).pipe(
    Layer.provideMerge(seededRegistry(options))
  )
