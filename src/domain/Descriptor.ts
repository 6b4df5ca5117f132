// A descriptor points at content by media type, digest and size: how manifests name their config and
// layers and how indexes name their manifests. Size and digest are what every download is checked against,
// so both are validated here (size as a safe non-negative integer, digest through `Digest`).
import { Schema } from "effect"
import * as Digest from "./Digest.js"
import { Platform } from "./Platform.js"

const Base64 = Schema.String.pipe(
  Schema.filter((s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) || "not base64"),
  Schema.annotations({ identifier: "Base64" })
)

export const Descriptor = Schema.Struct({
  mediaType: Schema.String,
  digest: Digest.Digest,
  size: Schema.NonNegativeInt,
  urls: Schema.optional(Schema.Array(Schema.String)),
  annotations: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  platform: Schema.optional(Platform),
  artifactType: Schema.optional(Schema.String),
  data: Schema.optional(Base64)
}).annotations({ identifier: "Descriptor" })

export type Descriptor = typeof Descriptor.Type
