// Loads content into a registry through the Distribution push API, so tests pull what they put there.
// Blobs go up monolithically (POST, then one PUT with ?digest=) or in PATCH chunks with Content-Range;
// `pushOciLayout` loads an OCI image layout and reports what the registry refused instead of stopping.
import { Data, Effect } from "effect"
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Readable } from "node:stream"
import type { BuiltImage, BuiltIndex, ImageLayer } from "./ImageBuilder.js"
import * as RawHttp from "./RawHttp.js"

/** Where to push: a `RunningRegistry` (or a fault proxy) fits. */
export interface PushTarget {
  readonly url: string
  readonly caPem?: string
}

export interface BlobPushOptions {
  /** Default "monolithic". */
  readonly mode?: "monolithic" | "chunked"
  /** Bytes per PATCH in chunked mode; default 1 MiB. */
  readonly chunkSize?: number
}

/** The registry answered a push step with an unexpected status. */
export class PushRejected extends Data.TaggedError("PushRejected")<{
  readonly step: string
  readonly method: string
  readonly url: string
  readonly status: number
  readonly body: string
}> {
  override get message(): string {
    return `${this.step}: ${this.method} ${this.url} answered ${this.status} ${this.body.trim()}`
  }
}

export type PushError = PushRejected | RawHttp.HttpTransportError

export interface PushedBlob {
  readonly digest: string
  readonly size: number
}

export interface PushedManifest {
  /** The digest the registry computed (its Docker-Content-Digest header). */
  readonly digest: string
  readonly reference: string
}

/** A blob's bytes: in memory, or in a file (as `buildLayerFile` writes it). */
export type BlobSource =
  | { readonly bytes: Uint8Array; readonly digest: string }
  | { readonly path: string; readonly size: number; readonly digest: string }

const sizeOf = (source: BlobSource): number => ("bytes" in source ? source.bytes.byteLength : source.size)

const exchange = (
  target: PushTarget,
  step: string,
  url: string,
  expected: ReadonlyArray<number>,
  options: RawHttp.RawRequest = {}
) =>
  RawHttp.request(url, { ...options, ...(target.caPem === undefined ? {} : { caPem: target.caPem }) }).pipe(
    Effect.filterOrFail(
      (r) => expected.includes(r.status),
      (r) =>
        new PushRejected({
          step,
          method: options.method ?? "GET",
          url,
          status: r.status,
          body: r.body.toString("utf8")
        })
    )
  )

const location = (base: string, response: RawHttp.RawResponse, step: string, method: string, url: string) => {
  const value = RawHttp.header(response, "location")
  return value === undefined
    ? Effect.fail(new PushRejected({ step, method, url, status: response.status, body: "no Location header" }))
    : Effect.succeed(new URL(value, base))
}

const withDigest = (upload: URL, digest: string): string => {
  const url = new URL(upload)
  url.searchParams.set("digest", digest)
  return url.href
}

const readRange = (source: BlobSource, start: number, end: number) =>
  "bytes" in source
    ? Effect.succeed(source.bytes.subarray(start, end))
    : Effect.promise(async () => {
      const handle = await fs.open(source.path, "r")
      try {
        const buffer = Buffer.alloc(end - start)
        await handle.read(buffer, 0, buffer.length, start)
        return buffer
      } finally {
        await handle.close()
      }
    })

const bodyOf = (source: BlobSource): Uint8Array | (() => Readable) =>
  "bytes" in source ? source.bytes : () => createReadStream(source.path)

/** Uploads one blob; the registry checks it against `source.digest`. */
export const pushBlobSource = (
  target: PushTarget,
  repository: string,
  source: BlobSource,
  options: BlobPushOptions = {}
): Effect.Effect<PushedBlob, PushError> =>
  Effect.gen(function*() {
    const start = `${target.url}/v2/${repository}/blobs/uploads/`
    const started = yield* exchange(target, "start upload", start, [202], { method: "POST" })
    let upload = yield* location(target.url, started, "start upload", "POST", start)
    const size = sizeOf(source)
    const octets = { "content-type": "application/octet-stream" }
    if ((options.mode ?? "monolithic") === "monolithic") {
      yield* exchange(target, "upload blob", withDigest(upload, source.digest), [201], {
        method: "PUT",
        headers: { ...octets, "content-length": size },
        body: bodyOf(source)
      })
      return { digest: source.digest, size }
    }
    const chunkSize = options.chunkSize ?? 1 << 20
    for (let offset = 0; offset < size; offset += chunkSize) {
      const end = Math.min(size, offset + chunkSize)
      const chunk = yield* readRange(source, offset, end)
      const patched = yield* exchange(target, `upload chunk at ${offset}`, upload.href, [202], {
        method: "PATCH",
        headers: { ...octets, "content-length": chunk.byteLength, "content-range": `${offset}-${end - 1}` },
        body: chunk
      })
      upload = yield* location(target.url, patched, `upload chunk at ${offset}`, "PATCH", upload.href)
    }
    yield* exchange(target, "finish upload", withDigest(upload, source.digest), [201], {
      method: "PUT",
      headers: { ...octets, "content-length": 0 }
    })
    return { digest: source.digest, size }
  }).pipe(Effect.withSpan("Push.pushBlob", { attributes: { repository, digest: source.digest } }))

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/** Uploads `bytes` as a blob under their sha256 digest. */
export const pushBlob = (
  target: PushTarget,
  repository: string,
  bytes: Uint8Array,
  options: BlobPushOptions = {}
): Effect.Effect<PushedBlob, PushError> =>
  pushBlobSource(target, repository, { bytes, digest: sha256(bytes) }, options)

/** PUTs a manifest (or index) under a tag or digest reference. */
export const pushManifest = (
  target: PushTarget,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string
): Effect.Effect<PushedManifest, PushError> => {
  const url = `${target.url}/v2/${repository}/manifests/${reference}`
  return exchange(target, "put manifest", url, [201], {
    method: "PUT",
    headers: { "content-type": mediaType, "content-length": bytes.byteLength },
    body: bytes
  }).pipe(
    Effect.map((r) => ({ digest: RawHttp.header(r, "docker-content-digest") ?? "", reference })),
    Effect.withSpan("Push.pushManifest", { attributes: { repository, reference } })
  )
}

const layerSource = (layer: ImageLayer): BlobSource =>
  "bytes" in layer
    ? { bytes: layer.bytes, digest: layer.digest }
    : { path: layer.path, size: layer.size, digest: layer.digest }

const pushImageContent = (target: PushTarget, repository: string, image: BuiltImage, options: BlobPushOptions) =>
  Effect.gen(function*() {
    yield* pushBlobSource(target, repository, { bytes: image.config.bytes, digest: image.config.digest }, options)
    for (const layer of image.layers) yield* pushBlobSource(target, repository, layerSource(layer), options)
  })

/**
 * Pushes an image (config, layers, then the manifest) or an index (each image by digest, then the
 * index) and tags the top manifest with `tag`.
 */
export const pushImage = (
  target: PushTarget,
  repository: string,
  tag: string,
  built: BuiltImage | BuiltIndex,
  options: BlobPushOptions = {}
): Effect.Effect<PushedManifest, PushError> =>
  Effect.gen(function*() {
    if (built._tag === "Index") {
      for (const image of built.manifests) {
        yield* pushImageContent(target, repository, image, options)
        yield* pushManifest(target, repository, image.digest, image.bytes, image.mediaType)
      }
    } else {
      yield* pushImageContent(target, repository, built, options)
    }
    return yield* pushManifest(target, repository, tag, built.bytes, built.mediaType)
  }).pipe(Effect.withSpan("Push.pushImage", { attributes: { repository, tag } }))

// ---------------------------------------------------------------------------------------------------
// OCI image layouts

export interface LayoutItem {
  /** "index.json", a blob digest, or the reference a manifest was put under. */
  readonly item: string
  readonly kind: "index" | "manifest" | "blob"
}

export interface LayoutFailure extends LayoutItem {
  readonly reason: string
}

export interface LayoutPushed extends LayoutItem {
  /** The digest the registry stored it under. */
  readonly digest: string
  /** The digest the layout names it by; a registry stores a manifest pushed by tag under its true digest. */
  readonly expectedDigest: string
}

export interface LayoutPushReport {
  readonly pushed: ReadonlyArray<LayoutPushed>
  readonly failed: ReadonlyArray<LayoutFailure>
}

interface LayoutDescriptor {
  readonly mediaType?: string
  readonly digest?: string
  readonly annotations?: Readonly<Record<string, string>>
}

const isIndexType = (mediaType: string | undefined) =>
  mediaType === "application/vnd.oci.image.index.v1+json" ||
  mediaType === "application/vnd.docker.distribution.manifest.list.v2+json"

const refName = "org.opencontainers.image.ref.name"

const describe = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e)

/**
 * Pushes the blobs and manifests of the OCI image layout in `layoutDir`, each manifest listed in
 * index.json under its `org.opencontainers.image.ref.name` (or, lacking one, its digest), nested
 * manifests by digest. Blobs are pushed under the digest their file is named for, unchecked,
 * so the registry's verdict is what the report shows.
 */
export const pushOciLayout = (
  target: PushTarget,
  repository: string,
  layoutDir: string,
  options: BlobPushOptions = {}
): Effect.Effect<LayoutPushReport> =>
  Effect.gen(function*() {
    const pushed: Array<LayoutPushed> = []
    const failed: Array<LayoutFailure> = []
    const blobPath = (digest: string) => {
      const [algorithm = "", encoded = ""] = digest.split(":")
      return path.join(layoutDir, "blobs", algorithm, encoded)
    }
    const readJson = (file: string) =>
      Effect.tryPromise({
        try: async () => {
          const bytes = await fs.readFile(file)
          return { bytes, json: JSON.parse(bytes.toString("utf8")) as Record<string, unknown> }
        },
        catch: describe
      })
    const pushBlobFile = (digest: string) =>
      Effect.gen(function*() {
        const stat = yield* Effect.tryPromise({ try: () => fs.stat(blobPath(digest)), catch: describe })
        return yield* pushBlobSource(target, repository, { path: blobPath(digest), size: stat.size, digest }, options)
      }).pipe(
        Effect.match({
          onFailure: (reason) => failed.push({ item: digest, kind: "blob", reason: describe(reason) }),
          onSuccess: () => pushed.push({ item: digest, kind: "blob", digest, expectedDigest: digest })
        })
      )
    const pushManifestTree = (descriptor: LayoutDescriptor, reference: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        const digest = descriptor.digest ?? ""
        const read = yield* Effect.either(readJson(blobPath(digest)))
        if (read._tag === "Left") {
          failed.push({ item: reference, kind: "manifest", reason: `cannot read manifest ${digest}: ${read.left}` })
          return
        }
        const { bytes, json } = read.right
        const mediaType = typeof json["mediaType"] === "string" ? json["mediaType"] : descriptor.mediaType ?? ""
        if (isIndexType(mediaType)) {
          const children = (json["manifests"] ?? []) as ReadonlyArray<LayoutDescriptor>
          for (const child of children) yield* pushManifestTree(child, child.digest ?? "")
        } else {
          const config = json["config"] as LayoutDescriptor | undefined
          const layers = (json["layers"] ?? []) as ReadonlyArray<LayoutDescriptor>
          for (const blob of [...(config === undefined ? [] : [config]), ...layers]) {
            yield* pushBlobFile(blob.digest ?? "")
          }
        }
        yield* pushManifest(target, repository, reference, bytes, mediaType).pipe(
          Effect.match({
            onFailure: (e) => failed.push({ item: reference, kind: "manifest", reason: describe(e) }),
            onSuccess: (m) => pushed.push({ item: reference, kind: "manifest", digest: m.digest, expectedDigest: digest })
          })
        )
      })
    const index = yield* Effect.either(readJson(path.join(layoutDir, "index.json")))
    if (index._tag === "Left") {
      failed.push({ item: "index.json", kind: "index", reason: index.left })
    } else {
      for (const descriptor of (index.right.json["manifests"] ?? []) as ReadonlyArray<LayoutDescriptor>) {
        yield* pushManifestTree(descriptor, descriptor.annotations?.[refName] ?? descriptor.digest ?? "")
      }
    }
    return { pushed, failed }
  }).pipe(Effect.withSpan("Push.pushOciLayout", { attributes: { repository, layoutDir } }))
