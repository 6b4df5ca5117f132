/**
 * The high-level client of the seed: `Client.fromConfig(config)`, then `getImageInfo(appName, reference)`
 * (and, with the Unpacker, `unpackImage`). It resolves indexes to the wanted platform and fetches the
 * verified config; the wire and the registry protocol stay in HttpTransport and RegistryApi.
 */
import { Context, Effect, Either, Layer, Stream } from "effect"
import type { Scope } from "effect"
import * as Config from "../../domain/Config.js"
import type { Descriptor } from "../../domain/Descriptor.js"
import * as ImageConfig from "../../domain/ImageConfig.js"
import * as MediaType from "../../domain/MediaType.js"
import * as Platform from "../../domain/Platform.js"
import * as Reference from "../../domain/Reference.js"
import type { HttpTransport } from "../HttpTransport/HttpTransport.js"
import * as NodeHttpTransport from "../HttpTransport/NodeHttpTransport.js"
import * as RaTlsHttpTransport from "../HttpTransport/RaTlsHttpTransport.js"
import * as RegistryApi from "../RegistryApi/RegistryApi.js"
import type { UnpackError } from "../Unpacker/UnpackError.js"
import { Unpacker, type UnpackOptions, type UnpackResult } from "../Unpacker/Unpacker.js"
import { LayerCountMismatch, NotAnImage, PlatformNotFound, type ImageInfo } from "./ImageInfo.js"

/** Configs above this size are refused: real ones are a few KiB, and the whole blob is held in memory. */
export const maxConfigBytes = 16 * 1024 * 1024

export interface ImageInfoOptions {
  /** Which platform to pick when the reference names an index; default: linux and this host's architecture. */
  readonly platform?: Platform.Platform | string | undefined
}

export type GetImageInfoError =
  | RegistryApi.ApiError
  | PlatformNotFound
  | NotAnImage
  | ImageConfig.InvalidImageConfig
  | Platform.InvalidPlatform

export type UnpackImageError = RegistryApi.ApiError | UnpackError | LayerCountMismatch

export class Client extends Context.Tag("oci-ratls-client/Client")<
  Client,
  {
    /** The lower-level registry client this client uses. */
    readonly registry: RegistryApi.RegistryApi["Type"]
    readonly getImageInfo: (
      appName: string,
      reference: string | Reference.Reference,
      options?: ImageInfoOptions
    ) => Effect.Effect<ImageInfo, GetImageInfoError>
    /**
     * Fetches every layer of the image and unpacks it into `dest` following the layer changeset rules,
     * verifying each layer's digest, size and diff_id on the way. All or nothing: on failure `dest` is as it
     * was. `temp` holds downloads and the staging tree when it is on the same file system as `dest`.
     */
    readonly unpackImage: (
      imageInfo: ImageInfo,
      dest: string,
      temp?: string,
      options?: UnpackOptions
    ) => Effect.Effect<UnpackResult, UnpackImageError>
  }
>() {}

const isConfigType = (mediaType: string) =>
  mediaType === MediaType.OciConfig || mediaType === MediaType.DockerConfig

export const make: Effect.Effect<Client["Type"], never, RegistryApi.RegistryApi | Unpacker> = Effect.gen(function* () {
  const registry = yield* RegistryApi.RegistryApi
  const unpacker = yield* Unpacker

  const choosePlatform = (
    appName: string,
    reference: string,
    manifests: ReadonlyArray<Descriptor>,
    wanted: Platform.Platform
  ): Effect.Effect<Descriptor, PlatformNotFound> => {
    const images = manifests.filter((d) => d.mediaType === MediaType.OciManifest || d.mediaType === MediaType.DockerManifest)
    const found = images.find((d) => d.platform !== undefined && Platform.matches(d.platform, wanted))
    return found !== undefined
      ? Effect.succeed(found)
      : Effect.fail(
        new PlatformNotFound({
          appName,
          reference,
          wanted: Platform.format(wanted),
          available: images.flatMap((d) => (d.platform === undefined ? [] : [Platform.format(d.platform)]))
        })
      )
  }

  const getImageInfo = Effect.fn("Client.getImageInfo")(function* (
    appName: string,
    referenceInput: string | Reference.Reference,
    options?: ImageInfoOptions
  ) {
    const reference = typeof referenceInput === "string" ? referenceInput : Reference.format(referenceInput)
    const wanted = options?.platform === undefined
      ? Platform.current()
      : typeof options.platform === "string"
      ? yield* Platform.parse(options.platform)
      : options.platform
    yield* Effect.annotateCurrentSpan({ appName, reference })

    const top = yield* registry.getManifest(appName, referenceInput)
    let resolved = top
    let selectedFrom: ImageInfo["selectedFrom"]
    if (top.manifest._tag === "Index") {
      const choice = yield* choosePlatform(appName, reference, top.manifest.index.manifests, wanted)
      resolved = yield* registry.getManifest(appName, Reference.fromDigest(choice.digest))
      selectedFrom = { indexDigest: top.digest, platform: choice.platform ?? wanted }
      yield* Effect.logDebug("picked a platform from the index").pipe(
        Effect.annotateLogs({ platform: Platform.format(wanted), digest: choice.digest })
      )
    }
    if (resolved.manifest._tag !== "Image") {
      return yield* new NotAnImage({ appName, reference, reason: "an index names another index for the platform" })
    }
    const manifest = resolved.manifest.manifest
    const configDescriptor = manifest.config
    if (!isConfigType(configDescriptor.mediaType)) {
      return yield* new NotAnImage({ appName, reference, reason: `config media type ${configDescriptor.mediaType}` })
    }
    if (configDescriptor.size > maxConfigBytes) {
      return yield* new NotAnImage({
        appName,
        reference,
        reason: `config of ${configDescriptor.size} bytes exceeds the limit of ${maxConfigBytes}`
      })
    }
    const configBytes = yield* registry.getBlob(appName, configDescriptor.digest, { size: configDescriptor.size }).pipe(
      Stream.runCollect,
      Effect.map((chunks) => Buffer.concat([...chunks]))
    )
    const config = yield* Either.match(ImageConfig.decode(configBytes), {
      onLeft: (e) => Effect.fail(e),
      onRight: (c) => Effect.succeed(c)
    })
    const info: ImageInfo = {
      appName,
      reference,
      digest: resolved.digest,
      mediaType: resolved.mediaType,
      manifest,
      manifestBytes: resolved.bytes,
      config,
      configBytes,
      annotations: manifest.annotations ?? {},
      layers: manifest.layers,
      ...(selectedFrom === undefined ? {} : { selectedFrom })
    }
    return info
  })

  const unpackImage = Effect.fn("Client.unpackImage")(function* (
    info: ImageInfo,
    dest: string,
    temp?: string,
    options?: UnpackOptions
  ) {
    const diffIds = info.config.rootfs.diff_ids
    if (diffIds.length !== info.layers.length) {
      return yield* new LayerCountMismatch({ appName: info.appName, digest: info.digest, layers: info.layers.length, diffIds: diffIds.length })
    }
    yield* Effect.annotateCurrentSpan({ appName: info.appName, digest: info.digest, dest })
    return yield* unpacker.unpack({
      layers: info.layers.map((layer, index) => ({
        mediaType: layer.mediaType,
        digest: layer.digest,
        size: layer.size,
        diffId: diffIds[index]!,
        // getBlob checks the digest and size itself: the unpacker need not hash the blob again.
        verified: true,
        // The unpacker copies what it keeps of a chunk before it pulls the next: the transport may reuse them.
        open: () => registry.getBlob(info.appName, layer.digest, { size: layer.size, transient: true })
      })),
      dest,
      ...(temp === undefined ? {} : { temp }),
      ...(options === undefined ? {} : { options })
    })
  })

  return { registry, getImageInfo, unpackImage }
})

/** The client over whatever RegistryApi (and so transport) the caller provides. */
export const layerWithoutDependencies: Layer.Layer<Client, never, RegistryApi.RegistryApi | Unpacker> = Layer.effect(Client, make)

/** The transport Layer a config asks for: Node's stack, or the TLS 1.3 engine for RA-TLS. */
export const transportLayer = (config: Config.ResolvedConfig): Layer.Layer<HttpTransport> =>
  config.mode._tag === "RaTls" ? RaTlsHttpTransport.layer(config, config.mode) : NodeHttpTransport.layer(config)

/** The registry client alone, for a config. */
export const registryLayer = (config: Config.Config): Layer.Layer<RegistryApi.RegistryApi, Config.InvalidConfig> =>
  Layer.unwrapEffect(
    Effect.map(Config.validate(config), (resolved) =>
      RegistryApi.layer(resolved.origin).pipe(Layer.provide(transportLayer(resolved))))
  )

/** Everything the client needs, from a config. */
export const layer = (config: Config.Config): Layer.Layer<Client | RegistryApi.RegistryApi, Config.InvalidConfig> =>
  Layer.provideMerge(layerWithoutDependencies, Layer.merge(registryLayer(config), Unpacker.layer))

/**
 * The seed's `Client::from_config`: a ready client whose connections live as long as the Scope.
 */
export const fromConfig = (config: Config.Config): Effect.Effect<Client["Type"], Config.InvalidConfig, Scope.Scope> =>
  Effect.map(Layer.build(layer(config)), (context) => Context.get(context, Client))

export type { ImageInfo, UnpackOptions, UnpackResult }
export { LayerCountMismatch, NotAnImage, PlatformNotFound }
