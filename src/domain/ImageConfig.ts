// The image configuration blob: how to run the image and, in `rootfs.diff_ids`, the digest of every layer's
// uncompressed tar, which unpacking checks each layer against. Docker writes `null` for empty fields
// (`"Cmd": null`), so optional fields accept null as absent; fields this client does not use are ignored.
import { Data, Either, Schema } from "effect"
import * as Digest from "./Digest.js"
import * as JsonDocument from "./internal/JsonDocument.js"

const nullable = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { nullable: true })

const Strings = Schema.Array(Schema.String)
const StringSet = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const ContainerConfig = Schema.Struct({
  User: nullable(Schema.String),
  ExposedPorts: nullable(StringSet),
  Env: nullable(Strings),
  Entrypoint: nullable(Strings),
  Cmd: nullable(Strings),
  Volumes: nullable(StringSet),
  WorkingDir: nullable(Schema.String),
  Labels: nullable(Schema.Record({ key: Schema.String, value: Schema.String })),
  StopSignal: nullable(Schema.String)
}).annotations({ identifier: "ContainerConfig" })

export type ContainerConfig = typeof ContainerConfig.Type

export const RootFs = Schema.Struct({
  type: Schema.Literal("layers"),
  diff_ids: Schema.Array(Digest.Digest)
}).annotations({ identifier: "RootFs" })

export type RootFs = typeof RootFs.Type

export const History = Schema.Struct({
  created: nullable(Schema.String),
  created_by: nullable(Schema.String),
  author: nullable(Schema.String),
  comment: nullable(Schema.String),
  empty_layer: nullable(Schema.Boolean)
}).annotations({ identifier: "History" })

export type History = typeof History.Type

export const ImageConfig = Schema.Struct({
  created: nullable(Schema.String),
  author: nullable(Schema.String),
  architecture: nullable(Schema.String),
  os: nullable(Schema.String),
  "os.version": nullable(Schema.String),
  "os.features": nullable(Strings),
  variant: nullable(Schema.String),
  config: nullable(ContainerConfig),
  rootfs: RootFs,
  history: nullable(Schema.Array(History))
}).annotations({ identifier: "ImageConfig" })

export type ImageConfig = typeof ImageConfig.Type

export class InvalidImageConfig extends Data.TaggedError("InvalidImageConfig")<{
  readonly reason: string
}> {
  override get message(): string {
    return `invalid image config: ${this.reason}`
  }
}

const decodeJson = JsonDocument.decode(ImageConfig)

export const decode = (bytes: Uint8Array): Either.Either<ImageConfig, InvalidImageConfig> =>
  Either.mapLeft(decodeJson(bytes), (reason) => new InvalidImageConfig({ reason }))
