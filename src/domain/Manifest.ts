// Image manifests and indexes, the documents a registry serves for `/v2/<name>/manifests/<reference>`.
// OCI and Docker schema 2 share one shape per kind, so the media type (from the body, else from
// Content-Type) chooses which Schema to apply; a type this client cannot read is refused by name.
import { Data, Either, Schema } from "effect"
import { Descriptor } from "./Descriptor.js"
import * as JsonDocument from "./internal/JsonDocument.js"
import { quote } from "./internal/Quote.js"
import * as MediaType from "./MediaType.js"

const Annotations = Schema.Record({ key: Schema.String, value: Schema.String })

export const ImageManifest = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.optional(Schema.String),
  artifactType: Schema.optional(Schema.String),
  config: Descriptor,
  layers: Schema.Array(Descriptor),
  subject: Schema.optional(Descriptor),
  annotations: Schema.optional(Annotations)
}).annotations({ identifier: "ImageManifest" })

export type ImageManifest = typeof ImageManifest.Type

export const ImageIndex = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.optional(Schema.String),
  artifactType: Schema.optional(Schema.String),
  manifests: Schema.Array(Descriptor),
  subject: Schema.optional(Descriptor),
  annotations: Schema.optional(Annotations)
}).annotations({ identifier: "ImageIndex" })

export type ImageIndex = typeof ImageIndex.Type

export type Manifest = Data.TaggedEnum<{
  Image: { readonly mediaType: string; readonly manifest: ImageManifest }
  Index: { readonly mediaType: string; readonly index: ImageIndex }
}>

export const { $is: is, $match: match, Image, Index } = Data.taggedEnum<Manifest>()

export class InvalidManifest extends Data.TaggedError("InvalidManifest")<{
  readonly reason: string
  readonly mediaType?: string
}> {
  override get message(): string {
    return this.mediaType === undefined
      ? `invalid manifest: ${this.reason}`
      : `invalid manifest (media type ${quote(this.mediaType)}): ${this.reason}`
  }
}

const imageTypes: ReadonlySet<string> = new Set([MediaType.OciManifest, MediaType.DockerManifest])
const indexTypes: ReadonlySet<string> = new Set([MediaType.OciIndex, MediaType.DockerManifestList])

// Servers that do not know what they serve (static file servers, some proxies) label manifests with a
// generic type; that says nothing about the kind, so it neither conflicts with nor stands in for `mediaType`.
const uninformativeTypes: ReadonlySet<string> = new Set(["application/json", "application/octet-stream", "text/plain"])

const decodeImage = JsonDocument.decodeValue(ImageManifest)
const decodeIndex = JsonDocument.decodeValue(ImageIndex)

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const headerType = (contentType: string | undefined): string | undefined => {
  if (contentType === undefined) {
    return undefined
  }
  const type = MediaType.essence(contentType)
  return type === "" || uninformativeTypes.has(type) ? undefined : type
}

/**
 * Reads a manifest or index from its bytes. The kind is taken from the body's `mediaType` field when it has
 * one, else from the `Content-Type` header (parameters such as charset ignored); both must agree when both
 * are present.
 */
export const decode = (bytes: Uint8Array, contentType: string | undefined): Either.Either<Manifest, InvalidManifest> =>
  Either.gen(function*() {
    const json = yield* Either.mapLeft(JsonDocument.parseJson(bytes), (reason) => new InvalidManifest({ reason }))
    if (!isRecord(json)) {
      return yield* Either.left(new InvalidManifest({ reason: "the document is not a JSON object" }))
    }
    const declared = json["mediaType"]
    if (declared !== undefined && typeof declared !== "string") {
      return yield* Either.left(new InvalidManifest({ reason: "mediaType: expected a string" }))
    }
    const header = headerType(contentType)
    if (declared !== undefined && header !== undefined && declared !== header) {
      return yield* Either.left(
        new InvalidManifest({
          reason: `the body declares mediaType ${quote(declared)} but the Content-Type is ${quote(header)}`,
          mediaType: declared
        })
      )
    }
    const mediaType = declared ?? header
    if (mediaType === undefined) {
      return yield* Either.left(
        new InvalidManifest({ reason: "no media type: the body has no mediaType field and no Content-Type was given" })
      )
    }
    if (imageTypes.has(mediaType)) {
      return yield* Either.mapBoth(decodeImage(json), {
        onLeft: (reason) => new InvalidManifest({ reason, mediaType }),
        onRight: (manifest) => Image({ mediaType, manifest })
      })
    }
    if (indexTypes.has(mediaType)) {
      return yield* Either.mapBoth(decodeIndex(json), {
        onLeft: (reason) => new InvalidManifest({ reason, mediaType }),
        onRight: (index) => Index({ mediaType, index })
      })
    }
    return yield* Either.left(
      new InvalidManifest({
        reason: `unsupported media type (supported: ${MediaType.manifestAccept.join(", ")})`,
        mediaType
      })
    )
  })
