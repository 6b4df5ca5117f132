// Applies one uncompressed layer tar onto a root directory by the OCI changeset rules: entries in order,
// whiteouts and opaque whiteouts delete what lower layers put there, later entries replace earlier ones,
// and metadata (mode, owner, mtime) follows the headers. Every path goes through RootedPath.
import { Effect, Option, Stream } from "effect"
import { constants } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { DirectoryMetadata, type Metadata } from "./DirectoryMetadata.js"
import { fsCall, fsCallIfExists } from "./FsCall.js"
import * as RootedPath from "./RootedPath.js"
import type { TarEntry, TarHeader } from "./TarEntries.js"
import { forEachEntry, MalformedTar } from "./TarEntries.js"
import type { ApplyError, LayerId } from "./UnpackError.js"
import { LayerTooLarge, MalformedLayer, SpecialFileRefused, UnsafeLayerEntry } from "./UnpackError.js"

export interface ApplyOptions {
  /**
   * Where directory metadata waits when several layers go onto one root (the caller applies it after the
   * last layer). Without it, this layer's directories get their metadata when the layer ends.
   */
  readonly directories?: DirectoryMetadata
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
const newFileFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

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
  mtime: paxNumber(header, "mtime") ?? header.mtime.getTime() / 1000
})

const boundedBy = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  layer: LayerId,
  limit: number,
  count: (n: number) => void
): Stream.Stream<Uint8Array, E | LayerTooLarge, R> =>
  Stream.suspend(() => {
    let seen = 0
    return Stream.mapEffect(bytes, (chunk) => {
      seen += chunk.length
      count(seen)
      return seen > limit ? Effect.fail(new LayerTooLarge({ layer, limit })) : Effect.succeed(chunk)
    })
  })

/**
 * Applies the tar stream `tar` of layer `layer` onto `root`, an absolute path without symlinks that holds the
 * result of the lower layers. On failure the root is left half-applied: the caller owns a staging copy.
 */
export const applyLayer = <E, R>(
  root: string,
  layer: LayerId,
  tar: Stream.Stream<Uint8Array, E, R>,
  options: ApplyOptions = {}
): Effect.Effect<LayerStats, ApplyError | E, R> =>
  Effect.suspend(() => {
    const state = new LayerState(root, layer, options)
    let tarBytes = 0
    const bytes = boundedBy(tar, layer, options.maxLayerBytes ?? Number.POSITIVE_INFINITY, (n) => {
      tarBytes = n
    })
    return forEachEntry(bytes, (entry) => state.apply(entry)).pipe(
      Effect.catchIf(
        (e): e is MalformedTar => e instanceof MalformedTar,
        (e) => Effect.fail(new MalformedLayer({ layer, entry: state.current, reason: e.reason }))
      ),
      Effect.zipRight(Effect.suspend(() => state.finish())),
      Effect.map((): LayerStats => ({
        entries: state.entries,
        tarBytes,
        specialFilesSkipped: state.specialFilesSkipped,
        xattrsSkipped: state.xattrsSkipped
      })),
      Effect.withSpan("LayerApplier.applyLayer", { attributes: { layer } })
    )
  })

class LayerState {
  entries = 0
  specialFilesSkipped = 0
  xattrsSkipped = 0
  /** The entry being applied, for errors raised while reading its body. */
  current: string | undefined = undefined
  // Host paths this layer wrote, with their ancestors: an opaque whiteout keeps exactly these.
  private readonly ours = new Set<string>()
  private readonly directories: DirectoryMetadata
  // True when this layer owns `directories` and must apply them itself when it ends.
  private readonly ownsDirectories: boolean
  private readonly asRoot = process.getuid?.() === 0

  constructor(
    private readonly root: string,
    private readonly layer: LayerId,
    private readonly options: ApplyOptions
  ) {
    this.ownsDirectories = options.directories === undefined
    this.directories = options.directories ?? new DirectoryMetadata()
  }

  apply(entry: TarEntry): Effect.Effect<void, ApplyError | MalformedTar> {
    const { header } = entry
    const name = header.name
    this.current = name
    this.entries += 1
    return Effect.gen(this, function*() {
      const components = yield* RootedPath.clean(name)
      const base = components[components.length - 1]
      if (base !== undefined && base.startsWith(whiteoutPrefix)) {
        return yield* this.whiteout(components, base)
      }
      yield* this.noteXattrs(name, header.pax)
      const type = header.type ?? "unknown"
      if (type === "directory") {
        return yield* this.directory(components, metadataOf(header))
      }
      if (components.length === 0) {
        return yield* this.unsafe(`a ${type} cannot take the place of the root directory`)
      }
      switch (type) {
        case "file":
        case "contiguous-file":
          return yield* this.file(components, entry, metadataOf(header))
        case "symlink":
          return yield* this.symlink(components, header.linkname ?? "", metadataOf(header))
        case "link":
          return yield* this.hardLink(components, header.linkname ?? "")
      }
      if (specialTypes.has(type)) return yield* this.special(name, type)
      return yield* this.malformed(`unsupported entry type ${type}`)
    }).pipe(
      Effect.catchTags({
        UnsafePath: (e) => Effect.fail(this.unsafe(e.reason)),
        TooManySymlinks: (e) =>
          Effect.fail(this.unsafe(`more than ${e.limit} symbolic links on the way to ${JSON.stringify(e.path)}`))
      })
    )
  }

  finish(): Effect.Effect<void, ApplyError> {
    return this.ownsDirectories ? this.directories.apply() : Effect.void
  }

  private unsafe(reason: string): UnsafeLayerEntry {
    return new UnsafeLayerEntry({ layer: this.layer, entry: this.current ?? "", reason })
  }

  private malformed(reason: string): MalformedLayer {
    return new MalformedLayer({ layer: this.layer, entry: this.current, reason })
  }

  private noteXattrs(name: string, pax: TarHeader["pax"]): Effect.Effect<void> {
    const names = Object.keys(pax ?? {}).filter((key) => key.startsWith(xattrPrefix))
    if (names.length === 0) return Effect.void
    this.xattrsSkipped += 1
    return Effect.logDebug("extended attributes not applied: Node has no call to set them").pipe(
      Effect.annotateLogs({ layer: String(this.layer), entry: name, xattrs: names.join(",") })
    )
  }

  private special(name: string, type: string): Effect.Effect<void, SpecialFileRefused> {
    if (this.options.specialFiles === "fail") {
      return Effect.fail(new SpecialFileRefused({ layer: this.layer, entry: name, type }))
    }
    this.specialFilesSkipped += 1
    return Effect.logWarning(`skipping ${type}: creating it needs privileges`).pipe(
      Effect.annotateLogs({ layer: String(this.layer), entry: name })
    )
  }

  /** Where a new entry goes: parents created (and recorded as ours), and whatever is there now removed. */
  private placeFor(components: ReadonlyArray<string>, keepDirectory: boolean) {
    return Effect.gen(this, function*() {
      const resolved = yield* RootedPath.resolve(this.root, components, "follow")
      let dir = resolved.parent
      for (const missing of resolved.missing) {
        dir = path.join(dir, missing)
        const created = dir
        yield* fsCall("mkdir", created, () => fs.mkdir(created, { mode: 0o755 }))
        this.markOurs(created)
      }
      const target = path.join(dir, resolved.name)
      const existing = yield* fsCallIfExists("lstat", target, () => fs.lstat(target))
      const merge = Option.isSome(existing) && existing.value.isDirectory() && keepDirectory
      if (Option.isSome(existing) && !merge) yield* this.remove(target)
      return { target, merge }
    })
  }

  private remove(target: string) {
    this.directories.forget(target)
    return fsCall("remove", target, () => fs.rm(target, { recursive: true, force: true }))
  }

  private markOurs(hostPath: string) {
    for (let p = hostPath; p.length > this.root.length && !this.ours.has(p); p = path.dirname(p)) {
      this.ours.add(p)
    }
  }

  private directory(components: ReadonlyArray<string>, metadata: Metadata) {
    return Effect.gen(this, function*() {
      if (components.length === 0) {
        this.directories.set(this.root, metadata)
        return
      }
      const { merge, target } = yield* this.placeFor(components, true)
      if (!merge) yield* fsCall("mkdir", target, () => fs.mkdir(target, { mode: 0o755 }))
      this.markOurs(target)
      this.directories.set(target, metadata)
    })
  }

  private file(components: ReadonlyArray<string>, entry: TarEntry, metadata: Metadata) {
    return Effect.gen(this, function*() {
      const { target } = yield* this.placeFor(components, false)
      this.markOurs(target)
      yield* Effect.acquireUseRelease(
        fsCall("create", target, () => fs.open(target, newFileFlags, 0o600)),
        (handle) =>
          Effect.gen(this, function*() {
            yield* entry.forEachChunk((chunk) => fsCall("write", target, () => handle.write(chunk)))
            if (this.asRoot) yield* fsCall("chown", target, () => handle.chown(metadata.uid, metadata.gid))
            // After chown, which clears setuid and setgid.
            yield* fsCall("chmod", target, () => handle.chmod(metadata.mode))
            yield* fsCall("utimes", target, () => handle.utimes(metadata.mtime, metadata.mtime))
          }),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined))
      )
    })
  }

  private symlink(components: ReadonlyArray<string>, linkTarget: string, metadata: Metadata) {
    return Effect.gen(this, function*() {
      const { target } = yield* this.placeFor(components, false)
      // Written exactly as given: it is only ever followed inside the root, by RootedPath or in the container.
      yield* fsCall("symlink", target, () => fs.symlink(linkTarget, target))
      this.markOurs(target)
      if (this.asRoot) yield* fsCall("lchown", target, () => fs.lchown(target, metadata.uid, metadata.gid))
      yield* fsCall("lutimes", target, () => fs.lutimes(target, metadata.mtime, metadata.mtime))
    })
  }

  private hardLink(components: ReadonlyArray<string>, linkName: string) {
    return Effect.gen(this, function*() {
      const linkComponents = yield* Effect.mapError(
        RootedPath.clean(linkName),
        (e) => this.unsafe(`hard link target ${JSON.stringify(linkName)}: ${e.reason}`)
      )
      if (linkComponents.length === 0) return yield* this.malformed("a hard link to the root directory")
      const source = yield* RootedPath.resolve(this.root, linkComponents, "follow")
      const sourcePath = RootedPath.hostPath(source)
      const sourceStat = source.missing.length > 0
        ? Option.none()
        : yield* fsCallIfExists("lstat", sourcePath, () => fs.lstat(sourcePath))
      if (Option.isNone(sourceStat)) {
        return yield* this.malformed(`hard link target ${JSON.stringify(linkName)} is not in the image`)
      }
      if (sourceStat.value.isDirectory()) {
        return yield* this.malformed(`hard link target ${JSON.stringify(linkName)} is a directory`)
      }
      const self = yield* RootedPath.resolve(this.root, components, "follow")
      if (self.missing.length === 0 && RootedPath.hostPath(self) === sourcePath) return
      const { target } = yield* this.placeFor(components, false)
      yield* fsCall("link", target, () => fs.link(sourcePath, target))
      this.markOurs(target)
    })
  }

  private whiteout(components: ReadonlyArray<string>, base: string) {
    return Effect.gen(this, function*() {
      const dirComponents = components.slice(0, -1)
      const dir = yield* this.existingDirectory(dirComponents)
      if (Option.isNone(dir)) return
      if (base === opaqueMarker) {
        yield* this.hideLower(dir.value)
        return
      }
      const hidden = base.slice(whiteoutPrefix.length)
      if (hidden === "" || hidden === "." || hidden === "..") {
        return yield* this.unsafe("a whiteout must name a file in its directory")
      }
      const target = path.join(dir.value, hidden)
      // A whiteout hides what lower layers put there; what this layer wrote stays (OCI image spec).
      if (this.ours.has(target)) return
      yield* this.remove(target)
    })
  }

  // The directory a whiteout speaks of, reached without following any symlink: a marker behind a link
  // would delete wherever the link points.
  private existingDirectory(dirComponents: ReadonlyArray<string>) {
    return Effect.gen(this, function*() {
      if (dirComponents.length === 0) return Option.some(this.root)
      const resolved = yield* RootedPath.resolve(this.root, dirComponents, "refuse")
      if (resolved.missing.length > 0) return Option.none<string>()
      const dir = RootedPath.hostPath(resolved)
      const stat = yield* fsCallIfExists("lstat", dir, () => fs.lstat(dir))
      if (Option.isNone(stat)) return Option.none<string>()
      if (stat.value.isSymbolicLink()) {
        return yield* new RootedPath.UnsafePath({
          path: dirComponents.join("/"),
          reason: "the directory of this whiteout is a symbolic link"
        })
      }
      return stat.value.isDirectory() ? Option.some(dir) : Option.none<string>()
    })
  }

  private hideLower(dir: string): Effect.Effect<void, ApplyError> {
    return Effect.gen(this, function*() {
      const children = yield* fsCall("readdir", dir, () => fs.readdir(dir, { withFileTypes: true }))
      for (const child of children) {
        const childPath = path.join(dir, child.name)
        if (!this.ours.has(childPath)) {
          yield* this.remove(childPath)
        } else if (child.isDirectory()) {
          yield* this.hideLower(childPath)
        }
      }
    })
  }
}
