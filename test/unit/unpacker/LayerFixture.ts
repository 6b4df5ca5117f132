// Layers built in memory for the unpacker tests: tar archives from entry lists (tar-stream's pack, plus
// hand-made GNU long-name records it cannot write), compressed with node:zlib or the zstd binary, and
// wrapped as `UnpackLayer`s whose descriptor fields a test can falsify one at a time.
import { Stream } from "effect"
import { spawnSync } from "node:child_process"
import * as zlib from "node:zlib"
import * as tarStream from "tar-stream"
import * as Digest from "../../../src/domain/Digest.js"
import * as MediaType from "../../../src/domain/MediaType.js"
import type { UnpackLayer } from "../../../src/services/Unpacker/Unpacker.js"

export interface EntrySpec {
  readonly name: string
  readonly type?: "file" | "directory" | "symlink" | "link" | "fifo" | "character-device" | "block-device"
  readonly content?: string | Uint8Array
  readonly linkname?: string
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  readonly mtime?: Date
  readonly pax?: Readonly<Record<string, string>>
  /** Carry `name` (and `linkname`) in GNU `L`/`K` records instead of the header or PAX. */
  readonly gnuLongNames?: boolean
}

/** The mtime entries get unless they say otherwise: fixed, so that trees can be compared. */
export const defaultMtime = new Date("2021-06-01T12:00:00Z")

const endOfArchive = 1024

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => Buffer.concat(parts)

const packOne = async (spec: EntrySpec, name: string, linkname: string | undefined): Promise<Uint8Array> => {
  const pack = tarStream.pack()
  const chunks: Array<Uint8Array> = []
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Uint8Array)
  })()
  pack.entry(
    {
      name,
      type: spec.type ?? "file",
      mode: spec.mode ?? ((spec.type ?? "file") === "directory" ? 0o755 : 0o644),
      uid: spec.uid ?? 0,
      gid: spec.gid ?? 0,
      mtime: spec.mtime ?? defaultMtime,
      ...(linkname === undefined ? {} : { linkname }),
      ...(spec.pax === undefined ? {} : { pax: spec.pax })
    },
    spec.content ?? ""
  )
  pack.finalize()
  await collected
  const all = concat(chunks)
  return all.subarray(0, all.length - endOfArchive)
}

const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0") + "\0"

// A GNU long-name record: a header of type `L` (path) or `K` (link path) whose body is the name.
const gnuRecord = (flag: "L" | "K", value: string): Uint8Array => {
  const body = Buffer.from(`${value}\0`, "utf8")
  const header = Buffer.alloc(512)
  header.write("././@LongLink", 0, "utf8")
  header.write(octal(0o644, 8), 100)
  header.write(octal(0, 8), 108)
  header.write(octal(0, 8), 116)
  header.write(octal(body.length, 12), 124)
  header.write(octal(0, 12), 136)
  header.write(flag, 156)
  header.write("ustar  \0", 257, "binary")
  header.fill(" ", 148, 156)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148)
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512)
  body.copy(padded)
  return concat([header, padded])
}

/** An uncompressed tar archive holding `entries` in order. */
export const tar = async (entries: ReadonlyArray<EntrySpec>): Promise<Uint8Array> => {
  const parts: Array<Uint8Array> = []
  for (const spec of entries) {
    if (spec.gnuLongNames === true) {
      parts.push(gnuRecord("L", spec.name))
      if (spec.linkname !== undefined) parts.push(gnuRecord("K", spec.linkname))
      parts.push(await packOne(spec, "gnu-short-name", spec.linkname === undefined ? undefined : "gnu-short-link"))
    } else {
      parts.push(await packOne(spec, spec.name, spec.linkname))
    }
  }
  parts.push(new Uint8Array(endOfArchive))
  return concat(parts)
}

export const gzip = (bytes: Uint8Array): Uint8Array => zlib.gzipSync(bytes)

export const zstd = (bytes: Uint8Array): Uint8Array => {
  const result = spawnSync("/usr/bin/zstd", ["-q", "-c", "-"], { input: bytes, maxBuffer: 1024 ** 3 })
  if (result.status !== 0) throw new Error(`zstd failed: ${result.stderr.toString()}`)
  return result.stdout
}

export type Compression = "none" | "gzip" | "zstd"

const mediaTypes: Record<Compression, string> = {
  none: MediaType.OciLayerTar,
  gzip: MediaType.OciLayerTarGzip,
  zstd: MediaType.OciLayerTarZstd
}

/** A byte stream delivering `bytes` in chunks of `chunkSize`. */
export const chunked = (bytes: Uint8Array, chunkSize = 4096): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    const chunks: Array<Uint8Array> = []
    for (let offset = 0; offset < bytes.length; offset += chunkSize) {
      chunks.push(bytes.subarray(offset, offset + chunkSize))
    }
    return Stream.fromIterable(chunks)
  })

/** A layer whose blob is `tarBytes` compressed as asked, with a correct descriptor unless overridden. */
export const layer = <E = never>(
  tarBytes: Uint8Array,
  compression: Compression = "gzip",
  overrides: Partial<UnpackLayer<E>> = {}
): UnpackLayer<E> => {
  const blob = compression === "none" ? tarBytes : compression === "gzip" ? gzip(tarBytes) : zstd(tarBytes)
  return {
    mediaType: mediaTypes[compression],
    digest: Digest.fromBytes(blob),
    size: blob.length,
    diffId: Digest.fromBytes(tarBytes),
    open: () => chunked(blob),
    ...overrides
  }
}

/** A layer made from entries, in one step. */
export const layerOf = async (
  entries: ReadonlyArray<EntrySpec>,
  compression: Compression = "gzip"
): Promise<UnpackLayer<never>> => layer(await tar(entries), compression)
