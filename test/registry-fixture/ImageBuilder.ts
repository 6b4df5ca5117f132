// Layers, image manifests, configs and indexes built in-process, byte-exact and with known digests.
// Tar entries are written as given (hostile names such as `../x` included) through tar-stream; layers
// stream through the compressor into memory or a file, so benchmark-sized images never sit in memory.
import { Data, Effect } from "effect"
import { spawn } from "node:child_process"
import { createCipheriv, createHash } from "node:crypto"
import { once } from "node:events"
import { createWriteStream } from "node:fs"
import { Duplex, PassThrough, type Transform, Writable } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as zlib from "node:zlib"
import * as tar from "tar-stream"

export const MediaTypes = {
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  OciLayerTar: "application/vnd.oci.image.layer.v1.tar",
  OciLayerTarGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  OciLayerTarZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  DockerLayerTar: "application/vnd.docker.image.rootfs.diff.tar",
  DockerLayerTarGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip"
} as const

export const zstdBinary = "/usr/bin/zstd"

// ---------------------------------------------------------------------------------------------------
// Entries

/** A file body too large to hold: its size up front, then its bytes on demand. */
export interface ContentStream {
  readonly size: number
  readonly chunks: () => AsyncIterable<Uint8Array>
}

export type FileContent = string | Uint8Array | ContentStream

export interface EntryMetadata {
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  readonly uname?: string
  readonly gname?: string
  readonly mtime?: Date
  /** Written as PAX `SCHILY.xattr.<name>` records. */
  readonly xattrs?: Readonly<Record<string, string>>
  /** Extra PAX records; any PAX record makes the entry carry a PAX header. */
  readonly pax?: Readonly<Record<string, string>>
  /**
   * How a name (or link target) that does not fit the 100-byte field is written: "pax" forces a PAX
   * header even for short names, "gnu" writes GNU `././@LongLink` records. By default tar-stream picks
   * the ustar prefix field, else PAX.
   */
  readonly longName?: "pax" | "gnu"
}

export type LayerEntry = EntryMetadata & (
  | { readonly type: "file"; readonly name: string; readonly content: FileContent }
  | { readonly type: "directory"; readonly name: string }
  | { readonly type: "symlink"; readonly name: string; readonly target: string }
  | { readonly type: "hardlink"; readonly name: string; readonly target: string }
  | { readonly type: "fifo"; readonly name: string }
  | {
    readonly type: "char-device" | "block-device"
    readonly name: string
    readonly major: number
    readonly minor: number
  }
)

const parentAndBase = (path: string): [string, string] => {
  const slash = path.lastIndexOf("/")
  return slash < 0 ? ["", path] : [path.slice(0, slash + 1), path.slice(slash + 1)]
}

export const Entry = {
  file: (name: string, content: FileContent = "", meta: EntryMetadata = {}): LayerEntry => ({
    ...meta,
    type: "file",
    name,
    content
  }),
  directory: (name: string, meta: EntryMetadata = {}): LayerEntry => ({ ...meta, type: "directory", name }),
  symlink: (name: string, target: string, meta: EntryMetadata = {}): LayerEntry => ({
    ...meta,
    type: "symlink",
    name,
    target
  }),
  hardlink: (name: string, target: string, meta: EntryMetadata = {}): LayerEntry => ({
    ...meta,
    type: "hardlink",
    name,
    target
  }),
  fifo: (name: string, meta: EntryMetadata = {}): LayerEntry => ({ ...meta, type: "fifo", name }),
  charDevice: (name: string, major: number, minor: number, meta: EntryMetadata = {}): LayerEntry => ({
    ...meta,
    type: "char-device",
    name,
    major,
    minor
  }),
  blockDevice: (name: string, major: number, minor: number, meta: EntryMetadata = {}): LayerEntry => ({
    ...meta,
    type: "block-device",
    name,
    major,
    minor
  }),
  /** The whiteout deleting `path` from lower layers: `dir/.wh.name`. */
  whiteout: (path: string, meta: EntryMetadata = {}): LayerEntry => {
    const [dir, base] = parentAndBase(path)
    return { ...meta, type: "file", name: `${dir}.wh.${base}`, content: "" }
  },
  /** The opaque whiteout hiding everything lower layers put in `dir`: `dir/.wh..wh..opq`. */
  opaqueWhiteout: (dir: string, meta: EntryMetadata = {}): LayerEntry => ({
    ...meta,
    type: "file",
    name: `${dir === "" || dir.endsWith("/") ? dir : `${dir}/`}.wh..wh..opq`,
    content: ""
  })
} as const

/** `size` incompressible bytes, the same for the same seed, made fast (AES-CTR keystream). */
export const pseudoRandomContent = (size: number, seed = 0): ContentStream => ({
  size,
  chunks: async function*() {
    const key = createHash("sha256").update(`fixture-seed-${seed}`).digest().subarray(0, 16)
    const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16))
    const block = Buffer.alloc(1 << 20)
    for (let left = size; left > 0; left -= block.length) {
      yield cipher.update(left >= block.length ? block : block.subarray(0, left))
    }
  }
})

/** `size` zero bytes: the body of a decompression bomb. */
export const zeroContent = (size: number): ContentStream => ({
  size,
  chunks: async function*() {
    const block = Buffer.alloc(Math.min(size, 1 << 20))
    for (let left = size; left > 0; left -= block.length) {
      yield left >= block.length ? block : block.subarray(0, left)
    }
  }
})

// ---------------------------------------------------------------------------------------------------
// Tar writing

const defaultMtime = new Date("2024-01-01T00:00:00Z")

// File-type bits from stat(2); tar-stream only reads the permission bits, but a mode of 0 would
// otherwise be replaced by its default, so every mode carries its type bits.
const typeBits: Record<LayerEntry["type"], number> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  hardlink: 0o100000,
  fifo: 0o010000,
  "char-device": 0o020000,
  "block-device": 0o060000
}

const tarType: Record<LayerEntry["type"], tar.Header["type"]> = {
  file: "file",
  directory: "directory",
  symlink: "symlink",
  hardlink: "link",
  fifo: "fifo",
  "char-device": "character-device",
  "block-device": "block-device"
}

const contentSize = (content: FileContent): number =>
  typeof content === "string"
    ? Buffer.byteLength(content)
    : content instanceof Uint8Array
    ? content.byteLength
    : content.size

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** A GNU `././@LongLink` header ('L' for a name, 'K' for a link target) and its padded data. */
const gnuLongRecord = (flag: "L" | "K", value: string): Buffer => {
  const data = Buffer.from(`${value}\0`)
  const header = Buffer.alloc(512)
  header.write("././@LongLink", 0)
  header.write("0000000\0", 100)
  header.write("0000000\0", 108)
  header.write("0000000\0", 116)
  header.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124)
  header.write("00000000000\0", 136)
  header.write("        ", 148)
  header.write(flag, 156)
  header.write("ustar  \0", 257)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148)
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([header, data, padding])
}

const fieldLimit = 100

const truncateField = (value: string): string => Buffer.from(value).subarray(0, fieldLimit).toString("latin1")

const linkTarget = (entry: LayerEntry): string | undefined =>
  entry.type === "symlink" || entry.type === "hardlink" ? entry.target : undefined

const headerOf = (entry: LayerEntry): tar.Header => {
  const mode = entry.mode ?? (entry.type === "directory" ? 0o755 : entry.type === "symlink" ? 0o777 : 0o644)
  const pax = {
    ...Object.fromEntries(Object.entries(entry.xattrs ?? {}).map(([k, v]) => [`SCHILY.xattr.${k}`, v])),
    ...entry.pax
  }
  const target = linkTarget(entry)
  const gnu = entry.longName === "gnu"
  return {
    name: gnu ? truncateField(entry.name) : entry.name,
    size: entry.type === "file" ? contentSize(entry.content) : 0,
    mode: typeBits[entry.type] | (mode & 0o7777),
    mtime: entry.mtime ?? defaultMtime,
    type: tarType[entry.type],
    linkname: target === undefined ? "" : gnu ? truncateField(target) : target,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    uname: entry.uname ?? "",
    gname: entry.gname ?? "",
    devmajor: entry.type === "char-device" || entry.type === "block-device" ? entry.major : 0,
    devminor: entry.type === "char-device" || entry.type === "block-device" ? entry.minor : 0,
    pax: Object.keys(pax).length > 0 || entry.longName === "pax" ? pax : null
  }
}

const writeEntry = async (pack: tar.Pack, entry: LayerEntry): Promise<void> => {
  if (entry.longName === "gnu") {
    // Pushed while no entry is open, so the records land right before the entry they describe.
    const target = linkTarget(entry)
    if (target !== undefined && Buffer.byteLength(target) > fieldLimit) pack.push(gnuLongRecord("K", target))
    if (Buffer.byteLength(entry.name) > fieldLimit) pack.push(gnuLongRecord("L", entry.name))
  }
  const header = headerOf(entry)
  await new Promise<void>((resolve, reject) => {
    const done = (e?: Error | null) => (e ? reject(e) : resolve())
    if (entry.type !== "file") return void pack.entry(header, done)
    const content = entry.content
    if (typeof content === "string" || content instanceof Uint8Array) {
      return void pack.entry(header, typeof content === "string" ? content : asBuffer(content), done)
    }
    const sink = pack.entry(header, done)
    void (async () => {
      for await (const chunk of content.chunks()) {
        if (!sink.write(asBuffer(chunk))) await once(sink, "drain")
      }
      sink.end(null)
    })().catch((e: unknown) => sink.destroy(e instanceof Error ? e : new Error(String(e))))
  })
}

const writeEntries = async (
  pack: tar.Pack,
  entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>
): Promise<void> => {
  try {
    for await (const entry of entries) await writeEntry(pack, entry)
    pack.finalize()
  } catch (e) {
    pack.destroy(e instanceof Error ? e : new Error(String(e)))
    throw e
  }
}

// ---------------------------------------------------------------------------------------------------
// Layers

export type Compression = "none" | "gzip" | "zstd"

export interface LayerDescription {
  /** Digest of the blob as stored (compressed). */
  readonly digest: string
  readonly size: number
  /** Digest of the uncompressed tar stream. */
  readonly diffId: string
  readonly mediaType: string
}

export interface BuiltLayer extends LayerDescription {
  readonly bytes: Uint8Array
}

/** A layer written to a file by `buildLayerFile`. */
export interface LayerFile extends LayerDescription {
  readonly path: string
}

export type ImageLayer = BuiltLayer | LayerFile

export interface LayerOptions {
  readonly compression?: Compression
  /** Overrides the OCI media type matching the compression. */
  readonly mediaType?: string
}

export class LayerBuildFailed extends Data.TaggedError("LayerBuildFailed")<{ readonly reason: string }> {
  override get message(): string {
    return `building a layer failed: ${this.reason}`
  }
}

const layerMediaType: Record<Compression, string> = {
  none: MediaTypes.OciLayerTar,
  gzip: MediaTypes.OciLayerTarGzip,
  zstd: MediaTypes.OciLayerTarZstd
}

const sha256Tap = () => {
  const hash = createHash("sha256")
  let size = 0
  const tap = async function*(source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      hash.update(chunk)
      size += chunk.byteLength
      yield chunk
    }
  }
  return { tap, result: () => ({ digest: `sha256:${hash.digest("hex")}`, size }) }
}

/** The compressor stage, and a promise that settles when its helper process (if any) is done. */
const compressor = (compression: Compression, signal: AbortSignal): { stage: Transform | Duplex; done: Promise<void> } => {
  switch (compression) {
    case "none":
      return { stage: new PassThrough(), done: Promise.resolve() }
    case "gzip":
      return { stage: zlib.createGzip(), done: Promise.resolve() }
    case "zstd": {
      const child = spawn(zstdBinary, ["-q", "-c", "-3"], { signal, stdio: ["pipe", "pipe", "inherit"] })
      const done = new Promise<void>((resolve, reject) => {
        child.once("error", (e) => reject(new Error(`${zstdBinary}: ${e.message}`)))
        child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${zstdBinary} exited with ${code}`))))
      })
      return { stage: Duplex.from({ writable: child.stdin, readable: child.stdout }), done }
    }
  }
}

const writeLayer = async (
  entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>,
  compression: Compression,
  sink: Writable,
  signal: AbortSignal
): Promise<{ digest: string; size: number; diffId: string }> => {
  const pack = tar.pack()
  const tarHash = sha256Tap()
  const blobHash = sha256Tap()
  const { stage, done } = compressor(compression, signal)
  const source = async function*() {
    for await (const chunk of pack as AsyncIterable<Uint8Array>) yield chunk
  }
  await Promise.all([
    writeEntries(pack, entries),
    pipeline(source, tarHash.tap, stage, blobHash.tap, sink, { signal }),
    done
  ])
  return { ...blobHash.result(), diffId: tarHash.result().digest }
}

const failed = (e: unknown) => new LayerBuildFailed({ reason: e instanceof Error ? e.message : String(e) })

/** A layer held in memory. */
export const buildLayer = (
  entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>,
  options: LayerOptions = {}
): Effect.Effect<BuiltLayer, LayerBuildFailed> => {
  const compression = options.compression ?? "gzip"
  return Effect.tryPromise({
    try: async (signal) => {
      const chunks: Array<Buffer> = []
      const sink = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          chunks.push(chunk)
          callback()
        }
      })
      const written = await writeLayer(entries, compression, sink, signal)
      return { ...written, mediaType: options.mediaType ?? layerMediaType[compression], bytes: Buffer.concat(chunks) }
    },
    catch: failed
  }).pipe(Effect.withSpan("ImageBuilder.buildLayer"))
}

/** A layer streamed into the file at `path`, for layers too large to hold in memory. */
export const buildLayerFile = (
  entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>,
  path: string,
  options: LayerOptions = {}
): Effect.Effect<LayerFile, LayerBuildFailed> => {
  const compression = options.compression ?? "gzip"
  return Effect.tryPromise({
    try: async (signal) => {
      const written = await writeLayer(entries, compression, createWriteStream(path), signal)
      return { ...written, mediaType: options.mediaType ?? layerMediaType[compression], path }
    },
    catch: failed
  }).pipe(Effect.withSpan("ImageBuilder.buildLayerFile"))
}

// ---------------------------------------------------------------------------------------------------
// Images and indexes

export interface Platform {
  readonly architecture: string
  readonly os: string
  readonly variant?: string
  readonly "os.version"?: string
  readonly "os.features"?: ReadonlyArray<string>
  readonly features?: ReadonlyArray<string>
}

export type Format = "oci" | "docker"

/** The platform of this machine, named as OCI names it. */
export const hostPlatform = (): Platform => {
  switch (process.arch) {
    case "x64":
      return { os: "linux", architecture: "amd64" }
    case "arm64":
      return { os: "linux", architecture: "arm64", variant: "v8" }
    case "ia32":
      return { os: "linux", architecture: "386" }
    case "ppc64":
      return { os: "linux", architecture: "ppc64le" }
    default:
      return { os: "linux", architecture: process.arch }
  }
}

export interface BuiltBlob {
  readonly bytes: Uint8Array
  readonly digest: string
  readonly size: number
  readonly mediaType: string
}

export interface BuiltImage extends BuiltBlob {
  readonly _tag: "Image"
  /** The manifest as serialized into `bytes`. */
  readonly manifest: Readonly<Record<string, unknown>>
  readonly config: BuiltBlob
  readonly layers: ReadonlyArray<ImageLayer>
  readonly platform: Platform
}

export interface BuiltIndex extends BuiltBlob {
  readonly _tag: "Index"
  readonly index: Readonly<Record<string, unknown>>
  readonly manifests: ReadonlyArray<BuiltImage>
}

export interface ImageOptions {
  readonly layers: ReadonlyArray<ImageLayer>
  /** Shallow-merged over the generated config, so it may replace `rootfs` or `config` wholesale. */
  readonly config?: Readonly<Record<string, unknown>>
  readonly format?: Format
  readonly annotations?: Readonly<Record<string, string>>
  readonly platform?: Platform
}

const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value))

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const blobOf = (bytes: Uint8Array, mediaType: string): BuiltBlob => ({
  bytes,
  digest: sha256(bytes),
  size: bytes.byteLength,
  mediaType
})

// Docker schema 2 has its own names for uncompressed and gzip layers; zstd has none and keeps the OCI type.
const dockerLayerType: Readonly<Record<string, string>> = {
  [MediaTypes.OciLayerTar]: MediaTypes.DockerLayerTar,
  [MediaTypes.OciLayerTarGzip]: MediaTypes.DockerLayerTarGzip
}

const descriptor = (d: LayerDescription | BuiltBlob) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })

/** An image manifest and config over `layers`; the config's diff_ids come from the layers. */
export const buildImage = (options: ImageOptions): BuiltImage => {
  const format = options.format ?? "oci"
  const platform = options.platform ?? hostPlatform()
  const layers = format === "docker"
    ? options.layers.map((l) => ({ ...l, mediaType: dockerLayerType[l.mediaType] ?? l.mediaType }))
    : options.layers
  const config = blobOf(
    json({
      created: defaultMtime.toISOString(),
      ...platform,
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: defaultMtime.toISOString(), created_by: "oci-fixture ImageBuilder" })),
      ...options.config
    }),
    format === "docker" ? MediaTypes.DockerConfig : MediaTypes.OciConfig
  )
  const mediaType = format === "docker" ? MediaTypes.DockerManifest : MediaTypes.OciManifest
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: descriptor(config),
    layers: layers.map(descriptor),
    ...(options.annotations === undefined ? {} : { annotations: options.annotations })
  }
  return { _tag: "Image", ...blobOf(json(manifest), mediaType), manifest, config, layers, platform }
}

/** The same image with its manifest JSON replaced by `f(manifest)` (and re-hashed): for lying manifests. */
export const rewriteManifest = (
  image: BuiltImage,
  f: (manifest: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>>
): BuiltImage => {
  const manifest = f(image.manifest)
  return { ...image, ...blobOf(json(manifest), image.mediaType), manifest }
}

/** An OCI index (or Docker manifest list) of images, each listed with its platform. */
export const buildIndex = (
  images: ReadonlyArray<BuiltImage>,
  options: { readonly format?: Format; readonly annotations?: Readonly<Record<string, string>> } = {}
): BuiltIndex => {
  const mediaType = (options.format ?? "oci") === "docker" ? MediaTypes.DockerManifestList : MediaTypes.OciIndex
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((image) => ({ ...descriptor(image), platform: image.platform })),
    ...(options.annotations === undefined ? {} : { annotations: options.annotations })
  }
  return { _tag: "Index", ...blobOf(json(index), mediaType), index, manifests: images }
}
