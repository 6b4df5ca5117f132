// OCI image layouts on disk (`oci-layout`, `index.json`, `blobs/<algorithm>/<encoded>`): what the layout
// registry reads to serve one, and a writer that lays out ImageBuilder output so tests can make their own.
// Reading trusts nothing but the parsed name and digest it is given: every path is built from those alone.
import { Data, Effect, Either, Option, type Scope } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Digest from "../../src/domain/Digest.js"
import type { Descriptor } from "../../src/domain/Descriptor.js"
import * as JsonDocument from "../../src/domain/internal/JsonDocument.js"
import { ImageIndex } from "../../src/domain/Manifest.js"
import * as MediaType from "../../src/domain/MediaType.js"
import type { RepositoryName } from "../../src/domain/RepositoryName.js"
import * as Tag from "../../src/domain/Tag.js"
import type { BuiltBlob, BuiltImage, BuiltIndex, ImageLayer } from "./ImageBuilder.js"

/** The annotation of an `index.json` descriptor that names its tag. */
export const refNameAnnotation = "org.opencontainers.image.ref.name"

/** There is no layout for the name: no directory, or a directory without `index.json`. */
export class LayoutMissing extends Data.TaggedError("LayoutMissing")<{ readonly dir: string }> {
  override get message(): string {
    return `no OCI image layout at ${this.dir} (index.json is missing)`
  }
}

/** The layout's `index.json` exists but is not an image index. */
export class LayoutUnreadable extends Data.TaggedError("LayoutUnreadable")<{
  readonly dir: string
  readonly reason: string
}> {
  override get message(): string {
    return `the OCI image layout at ${this.dir} has an unreadable index.json: ${this.reason}`
  }
}

export class LayoutWriteFailed extends Data.TaggedError("LayoutWriteFailed")<{
  readonly dir: string
  readonly reason: string
}> {
  override get message(): string {
    return `writing the OCI image layout at ${this.dir} failed: ${this.reason}`
  }
}

export interface Layout {
  readonly dir: string
  readonly index: ImageIndex
}

/**
 * Where the layout for `name` lives under `root`: one directory level per name component, so
 * `com.samsung.example.app` is `root/com.samsung.example.app` and `some/app` is `root/some/app`.
 * A parsed name has no empty, `.` or `..` component, so the result always lies inside `root`.
 */
export const layoutDirectory = (root: string, name: RepositoryName): string => path.join(root, ...name.split("/"))

export const blobPath = (layoutDir: string, digest: Digest.Digest): string =>
  path.join(layoutDir, "blobs", Digest.algorithm(digest), Digest.encoded(digest))

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const isAbsent = (e: unknown): boolean => {
  const code = errorCode(e)
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR"
}

const decodeIndex = JsonDocument.decode(ImageIndex)

/** Reads the index of the layout in `dir`; read errors other than absence are defects. */
export const readLayout = (dir: string): Effect.Effect<Layout, LayoutMissing | LayoutUnreadable> =>
  Effect.tryPromise({ try: () => fs.readFile(path.join(dir, "index.json")), catch: (e) => e }).pipe(
    Effect.catchAll((e) => (isAbsent(e) ? Effect.fail(new LayoutMissing({ dir })) : Effect.die(e))),
    Effect.flatMap((bytes) =>
      Either.match(decodeIndex(bytes), {
        onLeft: (reason) => Effect.fail(new LayoutUnreadable({ dir, reason })),
        onRight: (index) => Effect.succeed({ dir, index })
      })
    )
  )

/**
 * The tags of a layout: every top-level descriptor whose ref.name annotation is a valid tag, the first
 * one winning when a tag repeats. Full references (`example.com/app:v1`) are not tags and are left out.
 */
export const tagsOf = (layout: Layout): ReadonlyMap<Tag.Tag, Descriptor> => {
  const tags = new Map<Tag.Tag, Descriptor>()
  for (const descriptor of layout.index.manifests) {
    const name = descriptor.annotations?.[refNameAnnotation]
    if (name === undefined) continue
    const tag = Either.getOrUndefined(Tag.parse(name))
    if (tag !== undefined && !tags.has(tag)) tags.set(tag, descriptor)
  }
  return tags
}

const isIndexType = (mediaType: string) =>
  mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList

// Nested indexes deeper than this are not searched; real layouts nest one level at most.
const maxIndexDepth = 4

/**
 * The descriptor that names `digest` as a manifest or index, searched through `index.json` and the
 * indexes it points to (so the platform manifests of a tagged index are found). Child indexes that are
 * missing or do not parse are skipped: the layout registry serves broken layouts as they are.
 */
export const findManifestDescriptor = (
  layout: Layout,
  digest: Digest.Digest
): Effect.Effect<Option.Option<Descriptor>> => {
  const visited = new Set<string>()
  const search = (manifests: ReadonlyArray<Descriptor>, depth: number): Effect.Effect<Option.Option<Descriptor>> =>
    Effect.gen(function*() {
      const found = manifests.find((d) => d.digest === digest)
      if (found !== undefined) return Option.some(found)
      if (depth >= maxIndexDepth) return Option.none()
      for (const child of manifests) {
        if (!isIndexType(child.mediaType) || visited.has(child.digest)) continue
        visited.add(child.digest)
        const bytes = yield* Effect.promise(() =>
          fs.readFile(blobPath(layout.dir, child.digest)).then((b) => Option.some(b), () => Option.none<Buffer>())
        )
        const index = Option.flatMap(bytes, (b) => Either.getRight(decodeIndex(b)))
        if (Option.isNone(index)) continue
        const deeper = yield* search(index.value.manifests, depth + 1)
        if (Option.isSome(deeper)) return deeper
      }
      return Option.none()
    })
  return search(layout.index.manifests, 0)
}

export interface BlobFile {
  readonly handle: fs.FileHandle
  readonly size: number
}

/** Opens `blobs/<algorithm>/<encoded>` for the scope; none when there is no such regular file. */
export const openBlob = (
  layout: Layout,
  digest: Digest.Digest
): Effect.Effect<Option.Option<BlobFile>, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      fs.open(blobPath(layout.dir, digest), "r").then(
        (handle): fs.FileHandle | undefined => handle,
        (e: unknown) => (isAbsent(e) ? undefined : Promise.reject(e))
      )
    ),
    (handle) => (handle === undefined ? Effect.void : Effect.promise(() => handle.close()))
  ).pipe(
    Effect.flatMap((handle) =>
      handle === undefined
        ? Effect.succeed(Option.none<BlobFile>())
        : Effect.map(
          Effect.promise(() => handle.stat()),
          (stat) => (stat.isFile() ? Option.some({ handle, size: stat.size }) : Option.none<BlobFile>())
        )
    )
  )

// ---------------------------------------------------------------------------------------------------
// Writing

export interface LayoutEntry {
  /** An image, or an index whose images are written along with it. */
  readonly manifest: BuiltImage | BuiltIndex
  /** Each tag becomes one `index.json` descriptor with the ref.name annotation; none: one untagged descriptor. */
  readonly tags?: ReadonlyArray<string>
}

const writeBlob = async (dir: string, blob: BuiltBlob): Promise<void> => {
  const file = blobPath(dir, blob.digest as Digest.Digest)
  await fs.mkdir(path.dirname(file), { recursive: true })
  await fs.writeFile(file, blob.bytes)
}

// Layer files are copied by the kernel, so benchmark-sized layers never pass through memory.
const writeLayer = async (dir: string, layer: ImageLayer): Promise<void> => {
  if ("bytes" in layer) return writeBlob(dir, layer)
  const file = blobPath(dir, layer.digest as Digest.Digest)
  await fs.mkdir(path.dirname(file), { recursive: true })
  await fs.copyFile(layer.path, file)
}

const writeImage = async (dir: string, image: BuiltImage): Promise<void> => {
  for (const layer of image.layers) await writeLayer(dir, layer)
  await writeBlob(dir, image.config)
  await writeBlob(dir, image)
}

/**
 * Writes an OCI image layout into `dir` (created if needed): every blob of every entry, `oci-layout`
 * and an `index.json` listing the entries under their tags, images with their platform.
 */
export const writeOciLayout = (
  dir: string,
  entries: ReadonlyArray<LayoutEntry>
): Effect.Effect<void, LayoutWriteFailed> =>
  Effect.tryPromise({
    try: async () => {
      await fs.mkdir(dir, { recursive: true })
      const manifests: Array<Record<string, unknown>> = []
      for (const { manifest, tags } of entries) {
        if (manifest._tag === "Index") {
          for (const image of manifest.manifests) await writeImage(dir, image)
          await writeBlob(dir, manifest)
        } else {
          await writeImage(dir, manifest)
        }
        const base = {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: manifest.size,
          ...(manifest._tag === "Image" ? { platform: manifest.platform } : {})
        }
        const names = tags ?? []
        if (names.length === 0) manifests.push(base)
        for (const tag of names) manifests.push({ ...base, annotations: { [refNameAnnotation]: tag } })
      }
      const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }
      await fs.writeFile(path.join(dir, "index.json"), JSON.stringify(index, null, 2))
      await fs.writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
    },
    catch: (e) => new LayoutWriteFailed({ dir, reason: e instanceof Error ? e.message : String(e) })
  }).pipe(Effect.withSpan("OciLayout.writeOciLayout", { attributes: { dir } }))
