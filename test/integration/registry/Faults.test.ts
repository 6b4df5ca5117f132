import { expect, layer } from "@effect/vitest"
import { Chunk, Duration, Effect, Stream } from "effect"
import { createHash } from "node:crypto"
import * as Config from "../../../src/domain/Config.js"
import * as Client from "../../../src/services/Client/Client.js"
import { RegistryApi } from "../../../src/services/RegistryApi/RegistryApi.js"
import { Fault, type FaultProxy } from "../../registry-fixture/FaultProxy.js"
import { FaultProxyTag, SeededRegistry, seededRegistryWithProxy } from "./SeededRegistry.js"


const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/** Runs `use` against the registry through the proxy, with `rules` in force for this test only. */
const throughProxy = <A, E>(
  rules: Parameters<FaultProxy["setRules"]>[0],
  use: (api: RegistryApi["Type"], client: Client.Client["Type"]) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const proxy = yield* FaultProxyTag
    proxy.setRules(rules)
    const config = Config.builder().host(proxy.host).idleTimeout(Duration.millis(500)).noTls()
    return yield* Effect.flatMap(Effect.all([RegistryApi, Client.Client]), ([api, client]) => use(api, client)).pipe(
      Effect.provide(Client.layer(config)),
      Effect.ensuring(Effect.sync(() => proxy.clearRules()))
    )
  })

const blobBytes = (api: RegistryApi["Type"], digest: string, size: number) =>
  Stream.runCollect(api.getBlob("some/app", digest, { size })).pipe(Effect.map((c) => Buffer.concat(Chunk.toArray(c))))

layer(seededRegistryWithProxy(), { timeout: "120 seconds", excludeTestServices: true })("a lying or broken connection to the real registry", (it) => {
  it.effect("through a proxy with no faults, a layer arrives intact", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const layer = oci.layers[0]!
      const bytes = yield* throughProxy([], (api) => blobBytes(api, layer.digest, layer.size))
      expect(sha256(bytes)).toBe(layer.digest)
    }))

  it.effect("a layer with one corrupted byte fails with DigestMismatch", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const layer = oci.layers[0]!
      const error = yield* throughProxy([{ path: /\/blobs\//, fault: Fault.corrupt(20) }], (api) =>
        blobBytes(api, layer.digest, layer.size)).pipe(Effect.flip)
      expect(error._tag).toBe("DigestMismatch")
      expect(error.message).toContain(layer.digest)
    }))

  it.effect("a layer cut short by a clean close fails, never passing for complete", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const layer = oci.layers[0]!
      const error = yield* throughProxy([{ path: /\/blobs\//, fault: Fault.truncate(30) }], (api) =>
        blobBytes(api, layer.digest, layer.size)).pipe(Effect.flip)
      expect(["ConnectionError", "SizeMismatch"]).toContain(error._tag)
    }))

  it.effect("a layer longer than its descriptor says fails with SizeMismatch", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const layer = oci.layers[0]!
      const longer = Buffer.concat([Buffer.from((layer as { bytes: Uint8Array }).bytes), Buffer.alloc(4096)])
      const error = yield* throughProxy([{ path: /\/blobs\//, fault: Fault.status(200, longer) }], (api) =>
        blobBytes(api, layer.digest, layer.size)).pipe(Effect.flip)
      expect(error._tag).toBe("SizeMismatch")
    }))

  it.effect("a connection reset mid-blob fails with ConnectionError", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const layer = oci.layers[0]!
      const error = yield* throughProxy([{ path: /\/blobs\//, fault: Fault.cut(30) }], (api) =>
        blobBytes(api, layer.digest, layer.size)).pipe(Effect.flip)
      expect(error._tag).toBe("ConnectionError")
    }))

  it.effect("a registry that stalls mid-blob fails with an idle TimeoutError", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const layer = oci.layers[0]!
      const error = yield* throughProxy([{ path: /\/blobs\//, fault: Fault.delay(5_000, 30) }], (api) =>
        blobBytes(api, layer.digest, layer.size)).pipe(Effect.flip)
      expect(error._tag).toBe("TimeoutError")
    }))

  it.effect("a corrupted manifest fetched by tag fails against the registry's Docker-Content-Digest", () =>
    Effect.gen(function* () {
      const error = yield* throughProxy([{ path: /\/manifests\//, fault: Fault.corrupt(5) }], (api) =>
        api.getManifest("some/app", "v1")).pipe(Effect.flip)
      expect(error._tag).toBe("DigestMismatch")
    }))

  it.effect("a manifest with a forged Docker-Content-Digest is refused", () =>
    Effect.gen(function* () {
      const forged = sha256(Buffer.from("forged"))
      const error = yield* throughProxy([{ path: /\/manifests\//, fault: Fault.header("docker-content-digest", forged) }], (api) =>
        api.getManifest("some/app", "v1")).pipe(Effect.flip)
      expect(error._tag).toBe("DigestMismatch")
      expect(error._tag === "DigestMismatch" && error.expected).toBe(forged)
    }))

  it.effect("a config blob that lies fails getImageInfo before any layer is fetched", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const error = yield* throughProxy(
        [{ path: new RegExp(`/blobs/${oci.config.digest}`), fault: Fault.corrupt(3) }],
        (_, client) => client.getImageInfo("some/app", "v1")
      ).pipe(Effect.flip)
      expect(error._tag).toBe("DigestMismatch")
    }))
})
