// The unpacker service: turns the layer blobs of an image into a directory tree at `dest`, all or nothing.
// The tree is built in a staging directory beside `dest` (or in `temp` on the same file system), every
// layer is verified on the way, and only a complete, verified tree is renamed into place.
import type { Scope } from "effect"
import { Chunk, Context, Duration, Effect, Fiber, Layer, Option, Schedule, Stream } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type * as Digest from "../../domain/Digest.js"
import { DirectoryMetadata, removeTree } from "./DirectoryMetadata.js"
import { fsCall, fsCallIfExists } from "./FsCall.js"
import { FileLane } from "./FileLane.js"
import { KnownDirectories } from "./KnownDirectories.js"
import type { LayerStats } from "./LayerApplier.js"
import * as LayerStream from "./LayerStream.js"
import type { UnpackError } from "./UnpackError.js"
import { DestinationExists, UnpackIoError } from "./UnpackError.js"

/** One layer to unpack: its descriptor, its diff_id from the config, and how to download its blob. */
export interface UnpackLayer<E> extends LayerStream.LayerDescriptor {
  /**
   * The blob's bytes. The unpacker is done with each chunk when it pulls the next one (it copies what it
   * keeps), so the stream may reuse a chunk's memory then, as `RegistryApi.getBlob` does with `transient`.
   */
  readonly open: () => Stream.Stream<Uint8Array, E>
}

export type UnpackProgress =
  | {
    readonly _tag: "LayerBytes"
    readonly layer: number
    readonly digest: Digest.Digest
    readonly downloaded: number
    readonly total: number
  }
  | {
    readonly _tag: "LayerApplied"
    readonly layer: number
    readonly digest: Digest.Digest
    readonly layersDone: number
    readonly layersTotal: number
  }

export interface UnpackOptions {
  /** Replace an existing non-empty `dest` (only once the new tree is complete). Default false. */
  readonly replace?: boolean
  /**
   * How many layer blobs may download at once. Default 3. Layers ahead of the one being applied start once
   * the network proves slower than applying (`aheadAfterWaitMillis`).
   */
  readonly concurrency?: number
  /** The most bytes one layer's tar may inflate to. Default `defaultMaxLayerBytes`. */
  readonly maxLayerBytes?: number
  /** Device nodes and fifos: skip them with a warning, or fail. Default skip. */
  readonly specialFiles?: "skip" | "fail"
  readonly onProgress?: (event: UnpackProgress) => void
}

export interface UnpackInput<E> {
  /** In manifest order, lowest first. */
  readonly layers: ReadonlyArray<UnpackLayer<E>>
  readonly dest: string
  /** Where layers downloaded ahead are spooled, and the tree is staged when on the same file system as `dest`. */
  readonly temp?: string
  readonly options?: UnpackOptions
}

export interface UnpackedLayer extends LayerStats {
  readonly digest: Digest.Digest
}

export interface UnpackResult {
  /** The absolute path of the unpacked tree. */
  readonly dest: string
  readonly layers: ReadonlyArray<UnpackedLayer>
}

export const defaultConcurrency = 3

/**
 * Layers ahead of the one being applied start downloading (into spool files) once it has waited this long
 * for its bytes, and at least half its time: only then is the network the bottleneck. Spooling costs CPU
 * and disk (every byte written to a file and read back): measured on a two-core machine pulling from a
 * registry on the same host, downloading ahead at once took 15% more CPU time and more wall time than
 * downloading each layer at its turn.
 */
export const aheadAfterWaitMillis = 500

/** 32 GiB: above any real layer, far below what a decompression bomb would write. */
export const defaultMaxLayerBytes = 32 * 1024 ** 3

export class Unpacker extends Context.Tag("Unpacker")<Unpacker, {
  readonly unpack: <E>(input: UnpackInput<E>) => Effect.Effect<UnpackResult, UnpackError | E>
}>() {
  /** The implementation on Node's file system. */
  static readonly layer: Layer.Layer<Unpacker> = Layer.sync(Unpacker, () => ({ unpack: (input) => unpack(input) }))
}

type DestinationState = "absent" | "empty" | "occupied"

// Spool files are written from one reused buffer of this size, and read back into one reused buffer in
// chunks of `spoolReadChunk` (each chunk is one step of the stream into the layer pipe, which copies it).
const spoolWriteBatch = 1024 * 1024
const spoolReadChunk = 512 * 1024

// Writes all of `bytes` to `handle` on the thread pool, continuing after a short write.
const writeAll = async (handle: fs.FileHandle, bytes: Uint8Array) => {
  for (let at = 0; at < bytes.length;) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten
}

const destinationState = (dest: string): Effect.Effect<DestinationState, UnpackIoError> =>
  Effect.gen(function*() {
    const stat = yield* fsCallIfExists("lstat", dest, () => fs.lstat(dest))
    if (Option.isNone(stat)) return "absent"
    if (!stat.value.isDirectory()) return "occupied"
    const names = yield* fsCall("readdir", dest, () => fs.readdir(dest))
    return names.length === 0 ? "empty" : "occupied"
  })

const randomSuffix = () => randomBytes(6).toString("hex")

const removeDirectory = (dir: string) => Effect.promise(() => removeTree(dir))

// A directory removed with everything in it when the scope closes, however it closes.
const scopedDirectory = (prefix: string): Effect.Effect<string, UnpackIoError, Scope.Scope> =>
  Effect.acquireRelease(fsCall("mkdtemp", `${prefix}XXXXXX`, () => fs.mkdtemp(prefix)), removeDirectory)

// The tree goes into `temp` only when a rename from there to `dest` is possible: same file system.
const stagingParent = (parent: string, temp: string | undefined) =>
  Effect.gen(function*() {
    if (temp === undefined) return parent
    const [tempStat, parentStat] = yield* Effect.all([
      fsCall("stat", temp, () => fs.stat(temp)),
      fsCall("stat", parent, () => fs.stat(parent))
    ])
    return tempStat.dev === parentStat.dev ? temp : parent
  })

/** Unpacks `input.layers` into `input.dest`; on any failure or interruption `dest` is left as it was. */
export const unpack = <E>(input: UnpackInput<E>): Effect.Effect<UnpackResult, UnpackError | E> =>
  Effect.gen(function*() {
    const options = input.options ?? {}
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? defaultConcurrency))
    const applyOptions = {
      maxLayerBytes: options.maxLayerBytes ?? defaultMaxLayerBytes,
      specialFiles: options.specialFiles ?? "skip",
      directories: new DirectoryMetadata(),
      knownDirectories: new KnownDirectories()
    } as const
    const progress = options.onProgress ?? (() => undefined)
    const layers = input.layers
    const dest = path.resolve(input.dest)
    const parent = path.dirname(dest)
    const base = path.basename(dest)

    // Refuse an unknown media type before downloading anything.
    yield* Effect.all(layers.map((layer, index) => LayerStream.compressionOf(index, layer.mediaType)))
    const before = yield* destinationState(dest)
    if (before === "occupied" && options.replace !== true) return yield* new DestinationExists({ path: dest })

    yield* fsCall("mkdir", parent, () => fs.mkdir(parent, { recursive: true }))
    const staging = yield* scopedDirectory(path.join(yield* stagingParent(parent, input.temp), `.${base}.staging-`))
    const root = yield* fsCall("realpath", staging, () => fs.realpath(staging))
    yield* fsCall("chmod", root, () => fs.chmod(root, 0o755))
    applyOptions.knownDirectories.madeDirectory(root)
    const fileLane = yield* Effect.acquireRelease(
      Effect.sync(() => new FileLane()),
      (lane) => Effect.promise(() => lane.close())
    )
    const spoolDir = layers.length > 1 && concurrency > 1
      ? yield* scopedDirectory(path.join(input.temp ?? os.tmpdir(), `.${base}.spool-`))
      : undefined

    const download = (index: number, layer: UnpackLayer<E>): Stream.Stream<Uint8Array, E> =>
      Stream.suspend(() => {
        let downloaded = 0
        return Stream.mapChunks(layer.open(), (chunks) => {
          for (const chunk of chunks) {
            downloaded += chunk.length
            progress({ _tag: "LayerBytes", layer: index, digest: layer.digest, downloaded, total: layer.size })
          }
          return chunks
        })
      })

    // A layer downloaded ahead goes to a file, its digest and size checked on the way in (by the stream
    // itself when it says so). The chunks are copied into one buffer (the stream may reuse theirs), written
    // on the thread pool whenever it is full, so that the main thread only hashes, counts and copies.
    const spool = (index: number, layer: UnpackLayer<E>, dir: string) => {
      const file = path.join(dir, `layer-${index}`)
      const blob = download(index, layer)
      const checked = LayerStream.checkedBlob(index, layer, blob)
      return Effect.acquireUseRelease(
        fsCall("create", file, () => fs.open(file, "wx", 0o600)),
        (handle) =>
          Effect.suspend(() => {
            const batch = Buffer.allocUnsafeSlow(spoolWriteBatch)
            let fill = 0
            const flush = () => {
              const bytes = batch.subarray(0, fill)
              fill = 0
              return fsCall("write", file, () => writeAll(handle, bytes))
            }
            // Copies `chunks` from chunk `index`, byte `at`, writing the batch whenever it is full; the chunks
            // are all copied before the next pull.
            const put = (chunks: ReadonlyArray<Uint8Array>, index: number, at: number): Effect.Effect<void, UnpackIoError> => {
              for (; index < chunks.length; index++, at = 0) {
                const chunk = chunks[index]!
                while (at < chunk.length) {
                  const n = Math.min(chunk.length - at, batch.length - fill)
                  batch.set(chunk.subarray(at, at + n), fill)
                  fill += n
                  at += n
                  if (fill === batch.length) {
                    const [nextIndex, nextAt] = [index, at]
                    return Effect.flatMap(flush(), () => put(chunks, nextIndex, nextAt))
                  }
                }
              }
              return Effect.void
            }
            return Stream.runForEachChunk(checked, (chunks) => put(Chunk.toReadonlyArray(chunks), 0, 0)).pipe(
              Effect.zipRight(Effect.suspend(() => (fill > 0 ? flush() : Effect.void)))
            )
          }),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined))
      ).pipe(Effect.as(file))
    }

    // A spool file read back. The layer pipe copies what it keeps of a chunk before the next pull, so one
    // buffer serves the whole file.
    const spooled = (file: string): Stream.Stream<Uint8Array, UnpackIoError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const handle = yield* Effect.acquireRelease(
          fsCall("open", file, () => fs.open(file, "r")),
          (handle) => Effect.promise(() => handle.close().catch(() => undefined))
        )
        const buffer = Buffer.allocUnsafeSlow(spoolReadChunk)
        const read = fsCall("read", file, () =>
          handle.read(buffer, 0, buffer.length, null).then(({ bytesRead }) => buffer.subarray(0, bytesRead))
        )
        return Stream.repeatEffectOption(Effect.flatMap(
          Effect.mapError(read, Option.some),
          (bytes) => (bytes.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(bytes))
        ))
      }))

    // Layers ahead of the one being applied download meanwhile, into spool files, up to `concurrency` at once,
    // from the moment the network proves slower than applying (see `aheadAfterWaitMillis`): then the main
    // thread receives them while it waits for the lane and the inflater.
    const spools = new Map<number, Fiber.RuntimeFiber<string, E | UnpackError>>()
    const scope = yield* Effect.scope
    let downloadingAhead = false
    const downloadAhead = (index: number) =>
      Effect.gen(function*() {
        if (spoolDir === undefined) return
        downloadingAhead = true
        for (let ahead = index + 1; ahead < Math.min(layers.length, index + concurrency); ahead++) {
          const aheadLayer = layers[ahead]
          if (aheadLayer !== undefined && !spools.has(ahead)) {
            // Interruptible whatever region forks it (the network watch forks from uninterruptible code).
            spools.set(ahead, yield* Effect.forkIn(Effect.interruptible(spool(ahead, aheadLayer, spoolDir)), scope))
          }
        }
      })

    // The blob of the layer being applied, watched for the time its pulls wait for bytes: once that is
    // `aheadAfterWaitMillis` and half the time since the first pull, the network is the bottleneck, and the
    // layers ahead start downloading. A ticker looks while the layer streams, so that a pull still waiting
    // counts too (a stalled first layer must not keep the others from starting); a pull costs two clock
    // readings.
    const watchNetwork = (blob: Stream.Stream<Uint8Array, E>, index: number): Stream.Stream<Uint8Array, E> =>
      downloadingAhead || spoolDir === undefined ? blob : Stream.unwrapScoped(Effect.gen(function*() {
        const pull = yield* Stream.toPull(blob)
        let first: number | undefined
        let pendingSince: number | undefined
        let waited = 0
        const starved = () => {
          const now = performance.now()
          const total = waited + (pendingSince === undefined ? 0 : now - pendingSince)
          return total >= aheadAfterWaitMillis && total >= (now - (first ?? now)) / 2
        }
        yield* Effect.forkScoped(Effect.interruptible(Effect.repeat(
          Effect.suspend(() => (starved() && !downloadingAhead ? Effect.uninterruptible(downloadAhead(index)) : Effect.void)),
          { schedule: Schedule.spaced(Duration.millis(aheadAfterWaitMillis / 5)), until: () => downloadingAhead }
        )))
        const timedPull = Effect.suspend(() => {
          if (downloadingAhead) return pull
          const started = performance.now()
          first ??= started
          pendingSince = started
          return Effect.ensuring(pull, Effect.sync(() => {
            waited += performance.now() - started
            pendingSince = undefined
          }))
        })
        return Stream.repeatEffectChunkOption(timedPull)
      }))

    // Each layer ends in the background (its diff_id checked, its last files written by the lane) while the
    // next one starts, so that neither the main thread nor the lane idles between layers. When both fail,
    // the failure of the earlier layer is the one reported; it also stops the later layer's download.
    let finishing: Fiber.RuntimeFiber<void, UnpackError> | undefined
    const results: Array<UnpackedLayer> = []
    for (const [index, layer] of layers.entries()) {
      if (downloadingAhead) yield* downloadAhead(index)
      const previous = finishing
      const previousFinished = previous === undefined ? Effect.void : Fiber.join(previous)
      const spooling = spools.get(index)
      const applying = spooling === undefined
        ? LayerStream.applyVerified(root, index, layer, watchNetwork(download(index, layer), index), fileLane, applyOptions)
        : Effect.gen(function*() {
          const file = yield* Fiber.join(spooling)
          const applied = yield* LayerStream.applyVerified(root, index, layer, spooled(file), fileLane, applyOptions, true)
          yield* fsCall("remove", file, () => fs.rm(file, { force: true }))
          return applied
        })
      // In fibers of the unpack's scope, so that an interruption of the unpack waits for them to end.
      const application = yield* Effect.forkIn(applying, scope)
      const watch = previous === undefined
        ? undefined
        : yield* Effect.forkIn(Effect.catchAll(Fiber.join(previous), () => Fiber.interrupt(application)), scope)
      const outcome = yield* Fiber.await(application)
      if (watch !== undefined) yield* Fiber.interrupt(watch)
      yield* previousFinished
      const applied = yield* outcome
      results.push({ digest: layer.digest, ...applied.stats })
      finishing = yield* Effect.forkIn(
        Effect.zipRight(applied.verified, Effect.sync(() =>
          progress({
            _tag: "LayerApplied",
            layer: index,
            digest: layer.digest,
            layersDone: index + 1,
            layersTotal: layers.length
          })
        )),
        scope
      )
    }
    if (finishing !== undefined) yield* Fiber.join(finishing)

    yield* applyOptions.directories.apply()
    yield* install(root, dest, before)
    return { dest, layers: results }
  }).pipe(Effect.scoped, Effect.withSpan("Unpacker.unpack"))

// The only step that touches `dest`, uninterruptible so that an interruption cannot strand the old tree
// aside. An empty directory at `dest` is replaced by the rename itself.
const install = (root: string, dest: string, before: DestinationState) =>
  Effect.uninterruptible(Effect.gen(function*() {
    if (before !== "occupied") {
      yield* fsCall("rename", dest, () => fs.rename(root, dest))
      return
    }
    const aside = path.join(path.dirname(dest), `.${path.basename(dest)}.old-${randomSuffix()}`)
    yield* fsCall("rename", dest, () => fs.rename(dest, aside))
    yield* fsCall("rename", dest, () => fs.rename(root, dest)).pipe(
      Effect.tapError(() => Effect.promise(() => fs.rename(aside, dest).catch(() => undefined)))
    )
    yield* removeDirectory(aside)
  }))
