// Applies one layer onto a root directory by the OCI changeset rules: entries in order, whiteouts and opaque
// whiteouts delete what lower layers put there, later entries replace earlier ones, and metadata (mode,
// owner, mtime) follows the headers. Every path goes through RootedPath. Entries are decided, and
// directories, links and deletions applied, with synchronous file-system calls (microseconds each, where a
// thread-pool round trip per call would dominate); regular files are created and written, and the tar
// stream hashed, by the FileLane's thread meanwhile.
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { DirectoryMetadata, type Metadata } from "./DirectoryMetadata.js"
import { FileLane } from "./FileLane.js"
import { errorCode, fsSync } from "./FsCall.js"
import { KnownDirectories } from "./KnownDirectories.js"
import * as RootedPath from "./RootedPath.js"
import type { LayerSource, PipeError } from "./LayerPipe.js"
import { readLayerPipelined } from "./LayerPipe.js"
import type { BodySink, EntryHandler, TarHeader } from "./TarEntries.js"
import { MalformedTar } from "./TarEntries.js"
import type { ApplyError, LayerId } from "./UnpackError.js"
import { LayerTooLarge, MalformedLayer, SpecialFileRefused, UnpackIoError, UnsafeLayerEntry } from "./UnpackError.js"

export interface ApplyOptions {
  /**
   * Where directory metadata waits when several layers go onto one root (the caller applies it after the
   * last layer). Without it, this layer's directories get their metadata when the layer ends.
   */
  readonly directories?: DirectoryMetadata
  /** The directories of the root known to exist, shared by the layers applied onto one root. */
  readonly knownDirectories?: KnownDirectories
  /** Where small files are written, shared by the layers applied onto one root; the caller closes it. */
  readonly fileLane?: FileLane
  /** Refuse a layer whose tar stream is longer than this many bytes. Unbounded when absent. */
  readonly maxLayerBytes?: number
  /** Device nodes and fifos need privileges most unpacks lack: skip them with a warning, or fail. Default skip. */
  readonly specialFiles?: "skip" | "fail"
}

export interface LayerStats {
  /** Tar entries applied, whiteouts included. */
  readonly entries: number
  /** Bytes of the uncompressed tar stream. */
  readonly tarBytes: number
  readonly specialFilesSkipped: number
  /** Entries whose PAX `SCHILY.xattr.*` records were not applied (Node has no xattr call). */
  readonly xattrsSkipped: number
}

const whiteoutPrefix = ".wh."
const opaqueMarker = ".wh..wh..opq"
const specialTypes: ReadonlySet<string> = new Set(["character-device", "block-device", "fifo"])
const xattrPrefix = "SCHILY.xattr."
const newFileFlags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW

const paxNumber = (header: TarHeader, key: string): number | undefined => {
  const text = header.pax?.[key]
  const value = text === undefined ? Number.NaN : Number.parseFloat(text)
  return Number.isFinite(value) ? value : undefined
}

// PAX records win over the ustar fields: they carry ids above 2^21 and sub-second mtimes.
const metadataOf = (header: TarHeader): Metadata => ({
  mode: header.mode & 0o7777,
  uid: paxNumber(header, "uid") ?? header.uid,
  gid: paxNumber(header, "gid") ?? header.gid,
  mtime: paxNumber(header, "mtime") ?? header.mtime
})

const isApplyFailure = (u: unknown): u is ApplyError =>
  u instanceof UnsafeLayerEntry || u instanceof MalformedLayer || u instanceof SpecialFileRefused ||
  u instanceof LayerTooLarge || u instanceof UnpackIoError

/** What the layer pipe fails with, the tar reader's complaints turned into MalformedLayer. */
export type LayerFailure = ApplyError | Exclude<PipeError, MalformedTar>

/**
 * Applies layer `layer` from `source` onto `root`, an absolute path without symlinks that holds the result
 * of the lower layers, verifying it on the way. On failure the root is left half-applied: the caller owns a
 * staging copy.
 */
export const applyLayer = <E, R>(
  root: string,
  layer: LayerId,
  source: LayerSource<E, R>,
  options: ApplyOptions = {}
): Effect.Effect<LayerStats, LayerFailure | E, R> => {
  const apply = (lane: FileLane) =>
    Effect.flatMap(applyLayerPipelined(root, layer, source, lane, options), (applied) => Effect.as(applied.verified, applied.stats))
  return options.fileLane !== undefined
    ? apply(options.fileLane)
    : Effect.acquireUseRelease(
      Effect.sync(() => new FileLane()),
      apply,
      (lane) => Effect.promise(() => lane.close())
    )
}

/** A layer applied up to its background work: its figures, and how that work ends. */
export interface PipelinedLayer {
  readonly stats: LayerStats
  /**
   * Succeeds once the layer is verified (its diff_id matched) and complete (its last files written, its
   * directories' metadata applied when no `directories` option holds them); fails otherwise.
   */
  readonly verified: Effect.Effect<void, LayerFailure>
}

/**
 * `applyLayer`, except that it succeeds as soon as every entry was read and applied or handed to `lane`:
 * the lane's thread may still be writing the last files and hashing the last bytes, and `verified` waits
 * for that and checks the diff_id. The next layer may be applied meanwhile (the lane keeps the order, and
 * entries that touch what it still holds wait for it), so that neither thread idles between layers. The
 * lane must live until `verified` has completed.
 */
export const applyLayerPipelined = <E, R>(
  root: string,
  layer: LayerId,
  source: LayerSource<E, R>,
  lane: FileLane,
  options: ApplyOptions = {}
): Effect.Effect<PipelinedLayer, LayerFailure | E, R> =>
  Effect.suspend(() => {
    const state = new LayerState(root, layer, options, lane)
    const pipeOptions = {
      maxLayerBytes: options.maxLayerBytes ?? Number.POSITIVE_INFINITY,
      afterBatch: () => state.drainLogs(),
      // The lane's thread hashes the tar stream, and the pipe reads on only while the lane keeps up.
      tarHasher: {
        start: (algorithm: string) => lane.hashStart(algorithm),
        // A file's bytes are copied to the lane once, to be hashed and written there.
        update: (bytes: Uint8Array, body: BodySink | undefined) => {
          if (body instanceof LaneBody) {
            lane.hash(bytes, body.id)
          } else {
            lane.hash(bytes)
            body?.write(bytes)
          }
        },
        digest: () => lane.digest()
      },
      backlog: lane
    }
    // The tar reader's complaints name the entry being read.
    const tarFailure = <A, E1, R1>(effect: Effect.Effect<A, E1, R1>) =>
      Effect.catchIf(
        effect,
        (e): e is Extract<E1, MalformedTar> => e instanceof MalformedTar,
        (e) => Effect.fail(new MalformedLayer({ layer, entry: state.current, reason: e.reason }))
      )
    return readLayerPipelined(layer, source, state, isApplyFailure, pipeOptions).pipe(
      tarFailure,
      Effect.ensuring(Effect.suspend(() => state.drainLogs())),
      Effect.map((read): PipelinedLayer => ({
        stats: {
          entries: state.entries,
          tarBytes: read.tarBytes,
          specialFilesSkipped: state.specialFilesSkipped,
          xattrsSkipped: state.xattrsSkipped
        },
        verified: read.verified.pipe(tarFailure, Effect.zipRight(Effect.suspend(() => state.finish())))
      })),
      Effect.withSpan("LayerApplier.applyLayer", { attributes: { layer } })
    )
  })

// A regular file's body, written by the lane's thread.
class LaneBody implements BodySink {
  constructor(
    private readonly lane: FileLane,
    readonly id: number
  ) {}

  write(chunk: Uint8Array) {
    this.lane.write(this.id, chunk)
  }

  end() {
    this.lane.end(this.id)
  }

  abort() {
    // The unpack is failing: the half-written file goes with the staging tree.
  }
}

class LayerState implements EntryHandler {
  entries = 0
  specialFilesSkipped = 0
  xattrsSkipped = 0
  /** The entry being applied, for errors raised while reading its body. */
  current: string | undefined = undefined
  // Host paths this layer wrote, with their ancestors: an opaque whiteout keeps exactly these.
  private readonly ours = new Set<string>()
  private readonly directories: DirectoryMetadata
  private readonly known: KnownDirectories
  // True when this layer owns `directories` and must apply them itself when it ends.
  private readonly ownsDirectories: boolean
  private readonly asRoot = process.getuid?.() === 0
  private readonly umask = process.umask()
  private readonly uid = process.geteuid?.()
  private readonly gid = process.getegid?.()
  // Log lines of synchronous code, emitted between batches of bytes.
  private readonly logs: Array<Effect.Effect<void>> = []

  constructor(
    private readonly root: string,
    private readonly layer: LayerId,
    private readonly options: ApplyOptions,
    private readonly lane: FileLane
  ) {
    this.ownsDirectories = options.directories === undefined
    this.directories = options.directories ?? new DirectoryMetadata()
    this.known = options.knownDirectories ?? new KnownDirectories()
  }

  wait(header: TarHeader, ready: () => void): boolean {
    this.lane.check()
    if (this.lane.idle) return false
    if (!this.lane.full && !this.touchesLane(header)) return false
    this.lane.onProgress(ready)
    return true
  }

  settled(done: () => void): boolean {
    this.lane.check()
    if (this.lane.idle) return false
    this.lane.onProgress(done)
    return true
  }

  // Whether applying `header` could look at or change a path the lane is still writing (or below one):
  // only plain files and directories in places the lane does not hold go ahead of it.
  private touchesLane(header: TarHeader): boolean {
    const type = header.type
    if (type !== "file" && type !== "contiguous-file" && type !== "directory") return true
    const cleaned = RootedPath.clean(header.name)
    if (Either.isLeft(cleaned)) return false
    const components = cleaned.right
    const base = components[components.length - 1]
    if (base === undefined) return false
    if (base.startsWith(whiteoutPrefix)) return true
    let resolved: RootedPath.Resolved
    try {
      resolved = RootedPath.resolveSync(this.root, components, "follow", this.known)
    } catch {
      return true
    }
    const first = resolved.missing[0]
    if (first !== undefined) return this.lane.pending(path.join(resolved.parent, first))
    const target = path.join(resolved.parent, resolved.name)
    if (this.lane.pending(target)) return true
    // Whatever is there now gets removed, unless a directory merges into a directory.
    if (this.known.has(target)) return type !== "directory"
    if (this.known.absent(target)) return false
    const existing = fs.lstatSync(target, { throwIfNoEntry: false })
    return existing !== undefined && !(type === "directory" && existing.isDirectory())
  }

  entry(header: TarHeader): BodySink | undefined {
    return this.apply(header)
  }

  /** Applies the entry `header` heads; a file's body goes to the sink returned. Throws `ApplyError`. */
  private apply(header: TarHeader): BodySink | undefined {
    const name = header.name
    this.current = name
    this.entries += 1
    try {
      const cleaned = RootedPath.clean(name)
      if (Either.isLeft(cleaned)) throw cleaned.left
      const components = cleaned.right
      const base = components[components.length - 1]
      if (base !== undefined && base.startsWith(whiteoutPrefix)) {
        this.whiteout(components, base)
        return undefined
      }
      this.noteXattrs(name, header.pax)
      const type = header.type ?? "unknown"
      if (type === "directory") {
        this.directory(components, metadataOf(header))
        return undefined
      }
      if (components.length === 0) throw this.unsafe(`a ${type} cannot take the place of the root directory`)
      switch (type) {
        case "file":
        case "contiguous-file":
          return this.file(components, metadataOf(header))
        case "symlink":
          this.symlink(components, header.linkname ?? "", metadataOf(header))
          return undefined
        case "link":
          this.hardLink(components, header.linkname ?? "")
          return undefined
      }
      if (specialTypes.has(type)) {
        this.special(name, type)
        return undefined
      }
      throw this.malformed(`unsupported entry type ${type}`)
    } catch (thrown) {
      if (thrown instanceof RootedPath.UnsafePath) throw this.unsafe(thrown.reason)
      if (thrown instanceof RootedPath.TooManySymlinks) {
        throw this.unsafe(`more than ${thrown.limit} symbolic links on the way to ${JSON.stringify(thrown.path)}`)
      }
      throw thrown
    }
  }

  finish(): Effect.Effect<void, ApplyError> {
    return this.ownsDirectories ? this.directories.apply() : Effect.void
  }

  drainLogs(): Effect.Effect<void> {
    return this.logs.length === 0 ? Effect.void : Effect.all(this.logs.splice(0), { discard: true })
  }

  private unsafe(reason: string): UnsafeLayerEntry {
    return new UnsafeLayerEntry({ layer: this.layer, entry: this.current ?? "", reason })
  }

  private malformed(reason: string): MalformedLayer {
    return new MalformedLayer({ layer: this.layer, entry: this.current, reason })
  }

  private noteXattrs(name: string, pax: TarHeader["pax"]) {
    if (pax === null) return
    const names = Object.keys(pax).filter((key) => key.startsWith(xattrPrefix))
    if (names.length === 0) return
    this.xattrsSkipped += 1
    this.logs.push(
      Effect.logDebug("extended attributes not applied: Node has no call to set them").pipe(
        Effect.annotateLogs({ layer: String(this.layer), entry: name, xattrs: names.join(",") })
      )
    )
  }

  private special(name: string, type: string) {
    if (this.options.specialFiles === "fail") {
      throw new SpecialFileRefused({ layer: this.layer, entry: name, type })
    }
    this.specialFilesSkipped += 1
    this.logs.push(
      Effect.logWarning(`skipping ${type}: creating it needs privileges`).pipe(
        Effect.annotateLogs({ layer: String(this.layer), entry: name })
      )
    )
  }

  /** Where a new entry goes, its parents created (and recorded as ours); whatever is there stays for now. */
  private placeFor(components: ReadonlyArray<string>): string {
    const resolved = RootedPath.resolveSync(this.root, components, "follow", this.known)
    let dir = resolved.parent
    for (const missing of resolved.missing) {
      dir = path.join(dir, missing)
      const created = dir
      fsSync("mkdir", created, () => fs.mkdirSync(created, { mode: 0o755 }))
      this.known.madeDirectory(created)
      this.markOurs(created)
    }
    return path.join(dir, resolved.name)
  }

  // Creates `target` optimistically; when something is there already, it is removed and the creation retried.
  private replacing<A>(operation: string, target: string, create: () => A): A {
    this.known.createdAt(target)
    try {
      return create()
    } catch (cause) {
      if (errorCode(cause) !== "EEXIST") throw new UnpackIoError({ path: target, operation, cause })
    }
    this.remove(target)
    this.known.createdAt(target)
    return fsSync(operation, target, create)
  }

  private remove(target: string) {
    this.directories.forget(target)
    this.known.forget(target)
    fsSync("remove", target, () => fs.rmSync(target, { recursive: true, force: true }))
  }

  private markOurs(hostPath: string) {
    for (let p = hostPath; p.length > this.root.length && !this.ours.has(p); p = path.dirname(p)) {
      this.ours.add(p)
    }
  }

  private directory(components: ReadonlyArray<string>, metadata: Metadata) {
    if (components.length === 0) {
      this.directories.set(this.root, metadata)
      return
    }
    const target = this.placeFor(components)
    // A directory over a directory merges; over anything else, replaces it.
    if (!this.known.has(target)) {
      try {
        fs.mkdirSync(target, { mode: 0o755 })
        this.known.madeDirectory(target)
      } catch (cause) {
        if (errorCode(cause) !== "EEXIST") throw new UnpackIoError({ path: target, operation: "mkdir", cause })
        const existing = fsSync("lstat", target, () => fs.lstatSync(target))
        if (existing.isDirectory()) {
          this.known.add(target)
        } else {
          this.remove(target)
          fsSync("mkdir", target, () => fs.mkdirSync(target, { mode: 0o755 }))
          this.known.madeDirectory(target)
        }
      }
    }
    this.markOurs(target)
    this.directories.set(target, metadata)
  }

  private file(components: ReadonlyArray<string>, metadata: Metadata): BodySink {
    const target = this.placeFor(components)
    this.markOurs(target)
    if (!this.known.absent(target) && fs.lstatSync(target, { throwIfNoEntry: false }) !== undefined) {
      this.remove(target)
    }
    this.known.createdAt(target)
    // Created with its mode; chmod only when the umask or a special bit stands in the way, chown only when
    // running as root and the owner is not us.
    const chmod = ((metadata.mode & 0o777) & ~this.umask) !== metadata.mode
    const chown = this.asRoot && (metadata.uid !== this.uid || metadata.gid !== this.gid)
    return new LaneBody(this.lane, this.lane.open({ target, flags: newFileFlags, metadata, chown, chmod }))
  }

  private symlink(components: ReadonlyArray<string>, linkTarget: string, metadata: Metadata) {
    const target = this.placeFor(components)
    // Written exactly as given: it is only ever followed inside the root, by RootedPath or in the container.
    this.replacing("symlink", target, () => fs.symlinkSync(linkTarget, target))
    this.markOurs(target)
    if (this.asRoot) fsSync("lchown", target, () => fs.lchownSync(target, metadata.uid, metadata.gid))
    fsSync("lutimes", target, () => fs.lutimesSync(target, metadata.mtime, metadata.mtime))
  }

  private hardLink(components: ReadonlyArray<string>, linkName: string) {
    const cleaned = RootedPath.clean(linkName)
    if (Either.isLeft(cleaned)) {
      throw this.unsafe(`hard link target ${JSON.stringify(linkName)}: ${cleaned.left.reason}`)
    }
    const linkComponents = cleaned.right
    if (linkComponents.length === 0) throw this.malformed("a hard link to the root directory")
    const source = RootedPath.resolveSync(this.root, linkComponents, "follow", this.known)
    const sourcePath = RootedPath.hostPath(source)
    const sourceStat = source.missing.length > 0
      ? undefined
      : fsSync("lstat", sourcePath, () => fs.lstatSync(sourcePath, { throwIfNoEntry: false }))
    if (sourceStat === undefined) {
      throw this.malformed(`hard link target ${JSON.stringify(linkName)} is not in the image`)
    }
    if (sourceStat.isDirectory()) {
      throw this.malformed(`hard link target ${JSON.stringify(linkName)} is a directory`)
    }
    const self = RootedPath.resolveSync(this.root, components, "follow", this.known)
    if (self.missing.length === 0 && RootedPath.hostPath(self) === sourcePath) return
    const target = this.placeFor(components)
    this.replacing("link", target, () => fs.linkSync(sourcePath, target))
    this.markOurs(target)
  }

  private whiteout(components: ReadonlyArray<string>, base: string) {
    const dir = this.existingDirectory(components.slice(0, -1))
    if (dir === undefined) return
    if (base === opaqueMarker) {
      this.hideLower(dir)
      return
    }
    const hidden = base.slice(whiteoutPrefix.length)
    if (hidden === "" || hidden === "." || hidden === "..") {
      throw this.unsafe("a whiteout must name a file in its directory")
    }
    const target = path.join(dir, hidden)
    // A whiteout hides what lower layers put there; what this layer wrote stays (OCI image spec).
    if (this.ours.has(target)) return
    this.remove(target)
  }

  // The directory a whiteout speaks of, reached without following any symlink: a marker behind a link
  // would delete wherever the link points.
  private existingDirectory(dirComponents: ReadonlyArray<string>): string | undefined {
    if (dirComponents.length === 0) return this.root
    const resolved = RootedPath.resolveSync(this.root, dirComponents, "refuse", this.known)
    if (resolved.missing.length > 0) return undefined
    const dir = RootedPath.hostPath(resolved)
    if (this.known.has(dir)) return dir
    const stat = fsSync("lstat", dir, () => fs.lstatSync(dir, { throwIfNoEntry: false }))
    if (stat === undefined) return undefined
    if (stat.isSymbolicLink()) {
      throw new RootedPath.UnsafePath({
        path: dirComponents.join("/"),
        reason: "the directory of this whiteout is a symbolic link"
      })
    }
    return stat.isDirectory() ? dir : undefined
  }

  private hideLower(dir: string) {
    const children = fsSync("readdir", dir, () => fs.readdirSync(dir, { withFileTypes: true }))
    for (const child of children) {
      const childPath = path.join(dir, child.name)
      if (!this.ours.has(childPath)) {
        this.remove(childPath)
      } else if (child.isDirectory()) {
        this.hideLower(childPath)
      }
    }
  }
}
