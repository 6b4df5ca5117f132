// The stage of the end-to-end unpack tests: a real Distribution registry with a fault proxy in front of
// it, shared by the tests of one file through an @effect/vitest layer, and a pull that runs the client as a
// user would (getImageInfo, then unpackImage) over plain HTTP, straight or through the proxy.
import { Context, Effect, Layer } from "effect"
import type { Scope } from "effect"
import * as Config from "../../../src/domain/Config.js"
import * as Client from "../../../src/services/Client/Client.js"
import type { FaultProxy, FaultRule, SeenRequest } from "../../registry-fixture/FaultProxy.js"
import { startFaultProxy } from "../../registry-fixture/FaultProxy.js"
import type { BuiltImage, BuiltIndex } from "../../registry-fixture/ImageBuilder.js"
import { pushImage, type PushedManifest, type PushError } from "../../registry-fixture/Push.js"
import { RegistryFixture, type RunningRegistry } from "../../registry-fixture/Registry.js"

export interface Stage {
  readonly registry: RunningRegistry
  /** Forwards to `registry`; rules are set per test with `faults`. */
  readonly proxy: FaultProxy
}

export class UnpackRegistry extends Context.Tag("test/UnpackRegistry")<UnpackRegistry, Stage>() {}

/** A registry and a fault proxy for every test of the file the layer serves. */
export const unpackRegistry: Layer.Layer<UnpackRegistry, unknown> = Layer.scoped(
  UnpackRegistry,
  Effect.gen(function*() {
    const registry = yield* RegistryFixture
    const proxy = yield* startFaultProxy(registry)
    return { registry, proxy }
  })
).pipe(Layer.provide(RegistryFixture.layer()))

/** Pushes an image (or index) to the registry itself, never through the proxy. */
export const push = (
  repository: string,
  tag: string,
  built: BuiltImage | BuiltIndex
): Effect.Effect<PushedManifest, PushError, UnpackRegistry> =>
  Effect.flatMap(UnpackRegistry, ({ registry }) => pushImage(registry, repository, tag, built))

/** Breaks responses of the proxy with `rules` until the test's scope closes. */
export const faults = (rules: ReadonlyArray<FaultRule>): Effect.Effect<void, never, UnpackRegistry | Scope.Scope> =>
  Effect.flatMap(UnpackRegistry, ({ proxy }) =>
    Effect.acquireRelease(Effect.sync(() => proxy.setRules(rules)), () => Effect.sync(() => proxy.clearRules())))

export interface PullOptions {
  readonly temp?: string
  readonly unpack?: Client.UnpackOptions
  /** Pull through the fault proxy instead of from the registry directly. Default false. */
  readonly viaProxy?: boolean
}

export type PullError = Client.GetImageInfoError | Client.UnpackImageError | Config.InvalidConfig

/** `getImageInfo(repository, reference)` then `unpackImage(info, dest, temp, options)`, with a fresh client. */
export const pull = (
  repository: string,
  reference: string,
  dest: string,
  options: PullOptions = {}
): Effect.Effect<Client.UnpackResult, PullError, UnpackRegistry> =>
  Effect.gen(function*() {
    const client = yield* Client.Client
    const info = yield* client.getImageInfo(repository, reference)
    return yield* client.unpackImage(info, dest, options.temp, options.unpack)
  }).pipe(
    Effect.provide(
      Layer.unwrapEffect(
        Effect.map(UnpackRegistry, ({ proxy, registry }) =>
          Client.layer(Config.builder().host(options.viaProxy === true ? proxy.host : registry.host).noTls()))
      )
    )
  )

/** The blob paths the proxy was asked for since it had seen `mark` requests, for "nothing was downloaded". */
export const blobRequestsSince = (proxy: FaultProxy, mark: number): ReadonlyArray<string> =>
  proxy.requests().slice(mark).flatMap((r: SeenRequest) => (r.path.includes("/blobs/") ? [r.path] : []))
