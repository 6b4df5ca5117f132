import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Config from "../../../src/domain/Config.js"
import * as Client from "../../../src/services/Client/Client.js"
import { RegistryApi } from "../../../src/services/RegistryApi/RegistryApi.js"
import { makeCa, makeServerCertificates, serverTls } from "../../registry-fixture/Certificates.js"
import { SeededRegistry, seededRegistry } from "./SeededRegistry.js"

const registryOver = <A, E>(config: Config.Config, use: (api: RegistryApi["Type"]) => Effect.Effect<A, E>) =>
  Effect.flatMap(RegistryApi, use).pipe(Effect.provide(Client.registryLayer(config)))

const tlsRegistry = Layer.unwrapEffect(
  Effect.map(makeServerCertificates(), (certificates) => seededRegistry({ tls: serverTls(certificates) }))
)

layer(tlsRegistry, { timeout: "120 seconds", excludeTestServices: true })("TLS to the real Distribution registry", (it) => {
  it.effect("with the registry's CA as root, manifests are fetched over TLS", () =>
    Effect.gen(function* () {
      const { registry, oci } = yield* SeededRegistry
      expect(registry.url.startsWith("https://")).toBe(true)
      const config = Config.builder().host(registry.host).tls(registry.caPem!)
      const response = yield* registryOver(config, (api) => api.getManifest("some/app", "v1"))
      expect(response.digest).toBe(oci.digest)
    }))

  it.effect("the https:// form of the host works in tls mode", () =>
    Effect.gen(function* () {
      const { registry } = yield* SeededRegistry
      const config = Config.builder().host(`https://${registry.host}`).tls(registry.caPem!)
      const page = yield* registryOver(config, (api) => api.listTags("some/app"))
      expect(page.tags).toEqual(["v1"])
    }))

  it.effect("with another CA as root, the connection fails with TlsError", () =>
    Effect.gen(function* () {
      const { registry } = yield* SeededRegistry
      const otherCa = yield* makeCa({ commonName: "Somebody else's CA" })
      const config = Config.builder().host(registry.host).tls(otherCa.certPem)
      const error = yield* registryOver(config, (api) => api.getManifest("some/app", "v1")).pipe(Effect.flip)
      expect(error._tag).toBe("TlsError")
      expect(error.message).toContain(registry.host)
    }))

  it.effect("the plain-HTTP mode against the TLS registry fails with the registry's 400, not a hang", () =>
    Effect.gen(function* () {
      const { registry } = yield* SeededRegistry
      const config = Config.builder().host(registry.host).noTls()
      const error = yield* registryOver(config, (api) => api.ping()).pipe(Effect.flip)
      expect(error._tag === "RegistryError" && error.status).toBe(400)
    }))

  it.effect("an http:// host in tls mode is refused before connecting", () =>
    Effect.gen(function* () {
      const { registry } = yield* SeededRegistry
      const config = Config.builder().host(`http://${registry.host}`).tls(registry.caPem!)
      const error = yield* registryOver(config, (api) => api.ping()).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidConfig")
    }))
})
