/**
 * The client for callers who do not use Effect: the same operations, each returning a Promise that rejects
 * with the same typed errors (instances of Error with a `_tag`), and blobs as Node Readable streams.
 * One runtime per client holds the connections; `close()` releases them.
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Cause, Chunk, Effect, Exit, ManagedRuntime, Option, Stream } from "effect"
import type { Readable } from "node:stream"
import * as ConfigModule from "./domain/Config.js"
import type * as Digest from "./domain/Digest.js"
import type * as Reference from "./domain/Reference.js"
import type * as Tag from "./domain/Tag.js"
import * as EffectClient from "./services/Client/Client.js"
import type { ImageInfo } from "./services/Client/ImageInfo.js"
import {
  RegistryApi,
  type BlobOptions,
  type ManifestHead,
  type ManifestResponse,
  type TagListOptions,
  type TagPage
} from "./services/RegistryApi/RegistryApi.js"

export { ConfigModule as Config }
export type { ImageInfo, ManifestHead, ManifestResponse, TagPage }

/** Runs an effect, rejecting with its typed error itself rather than a wrapper. */
const settle = async <A, E, R>(runtime: ManagedRuntime.ManagedRuntime<R, ConfigModule.InvalidConfig>, effect: Effect.Effect<A, E, R>): Promise<A> => {
  const exit = await runtime.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) throw failure.value
  throw Cause.squash(exit.cause)
}

/** The lower-level registry calls. */
export class Registry {
  /** @internal */
  constructor(private readonly runtime: ManagedRuntime.ManagedRuntime<RegistryApi, ConfigModule.InvalidConfig>) {}

  private use<A, E>(f: (api: RegistryApi["Type"]) => Effect.Effect<A, E>): Promise<A> {
    return settle(this.runtime, Effect.flatMap(RegistryApi, f))
  }

  ping(): Promise<void> {
    return this.use((api) => api.ping())
  }

  getManifest(appName: string, reference: string | Reference.Reference): Promise<ManifestResponse> {
    return this.use((api) => api.getManifest(appName, reference))
  }

  headManifest(appName: string, reference: string | Reference.Reference): Promise<ManifestHead> {
    return this.use((api) => api.headManifest(appName, reference))
  }

  /** The verified blob as a stream; it emits `error` (a typed error) instead of ending when a check fails. */
  getBlob(appName: string, digest: string | Digest.Digest, options?: BlobOptions): Promise<Readable> {
    return this.use((api) => NodeStream.toReadable(api.getBlob(appName, digest, options)))
  }

  /** The verified blob, whole, in memory: for configs and other small blobs. */
  getBlobBytes(appName: string, digest: string | Digest.Digest, options?: BlobOptions): Promise<Uint8Array> {
    return this.use((api) =>
      Effect.map(Stream.runCollect(api.getBlob(appName, digest, options)), (chunks) => Buffer.concat(Chunk.toArray(chunks)))
    )
  }

  listTags(appName: string, options?: TagListOptions): Promise<TagPage> {
    return this.use((api) => api.listTags(appName, options))
  }

  /** Every tag, following the registry's pagination. */
  listAllTags(appName: string, options?: { readonly pageSize?: number; readonly last?: string }): Promise<ReadonlyArray<Tag.Tag>> {
    return this.use((api) => Effect.map(Stream.runCollect(api.listAllTags(appName, options)), Chunk.toReadonlyArray))
  }
}

export class Client {
  private constructor(
    private readonly runtime: ManagedRuntime.ManagedRuntime<EffectClient.Client | RegistryApi, ConfigModule.InvalidConfig>,
    readonly registry: Registry
  ) {}

  /** The seed's `Client::from_config`; rejects with `InvalidConfig` when the host does not fit the mode. */
  static async fromConfig(config: ConfigModule.Config): Promise<Client> {
    const runtime = ManagedRuntime.make(EffectClient.layer(config))
    await settle(runtime, Effect.void)
    return new Client(runtime, new Registry(runtime as ManagedRuntime.ManagedRuntime<RegistryApi, ConfigModule.InvalidConfig>))
  }

  getImageInfo(appName: string, reference: string | Reference.Reference, options?: EffectClient.ImageInfoOptions): Promise<ImageInfo> {
    return settle(this.runtime, Effect.flatMap(EffectClient.Client, (client) => client.getImageInfo(appName, reference, options)))
  }

  /**
   * Pulls every layer and unpacks the image into `dest`, all or nothing; `temp` holds downloads and the
   * staging tree when it is on the same file system as `dest`. Progress arrives through `options.onProgress`.
   */
  unpackImage(imageInfo: ImageInfo, dest: string, temp?: string, options?: EffectClient.UnpackOptions): Promise<EffectClient.UnpackResult> {
    return settle(this.runtime, Effect.flatMap(EffectClient.Client, (client) => client.unpackImage(imageInfo, dest, temp, options)))
  }

  /** Closes the client's connections. */
  close(): Promise<void> {
    return this.runtime.dispose()
  }
}
