// The one place where a path named by a layer becomes a path on the host. Every write, link, mkdir,
// chmod, utimes and delete of the unpacker goes through `resolve`, so "stays inside the root" is decided
// here and nowhere else.
//
// Why the rules are what they are:
// - Names are cleaned lexically first: a leading `/` or `./` is dropped (tars made with `tar -P` or from
//   `/` carry them), `.` disappears, and `..` removes the previous component. A `..` with nothing left to
//   remove would climb above the root; no honest layer needs that, so it is refused rather than clamped.
// - Parent components are then walked one by one with `lstat` (skipped for directories the unpacker
//   already knows, see KnownDirectories), as the kernel would walk them inside a
//   container whose `/` is the root: a symlink met in a parent position is followed, an absolute target
//   starts again from the root (images are full of `/usr/...` links, which mean the image's `/usr`), and a
//   relative target is taken from the directory holding the link. A target whose `..` would climb above the
//   root is refused like a name doing so: on the host it would lead outside, which is what such a link in
//   a layer is made for. At most `maxSymlinks` links are followed (the kernel's ELOOP bound), so a loop of
//   links ends in a typed error.
// - The final component is never followed (as containerd's and umoci's appliers do): the operations that
//   use it create, replace or delete the name itself, and following a symlink there would let an earlier
//   entry redirect a write or a delete to wherever the link points. Callers that need an existing file
//   (a hard link's target) `lstat` the final name themselves.
import { Data, Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fsSync, trySync } from "./FsCall.js"
import type { KnownDirectories } from "./KnownDirectories.js"
import { UnpackIoError } from "./UnpackError.js"

/** Linux's MAXSYMLINKS: how many links one path resolution may follow before giving up (ELOOP). */
export const maxSymlinks = 40

/** A path that would leave the root, or reach a place through a link where links are not allowed. */
export class UnsafePath extends Data.TaggedError("UnsafePath")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `${JSON.stringify(this.path)}: ${this.reason}`
  }
}

export class TooManySymlinks extends Data.TaggedError("TooManySymlinks")<{
  readonly path: string
  readonly limit: number
}> {
  override get message(): string {
    return `${JSON.stringify(this.path)}: more than ${this.limit} symbolic links on the way (a loop?)`
  }
}

export type RootedPathError = UnsafePath | TooManySymlinks

/**
 * The components of a tar entry name below the root. Empty for the root itself (`./`, `/`).
 */
export const clean = (name: string): Either.Either<ReadonlyArray<string>, UnsafePath> => {
  if (name.includes("\0")) {
    return Either.left(new UnsafePath({ path: name, reason: "the name contains a NUL byte" }))
  }
  const components: Array<string> = []
  for (const component of name.split("/")) {
    if (component === "" || component === ".") continue
    if (component === "..") {
      if (components.pop() === undefined) {
        return Either.left(new UnsafePath({ path: name, reason: "its `..` components climb above the root" }))
      }
      continue
    }
    components.push(component)
  }
  return Either.right(components)
}

/** Where a name lands: an existing directory inside the root, the directories still to make, the final name. */
export interface Resolved {
  /** An existing directory, as a host path inside the root. */
  readonly parent: string
  /** Directories that do not exist yet between `parent` and `name`, outermost first. */
  readonly missing: ReadonlyArray<string>
  /** The final component, never followed. */
  readonly name: string
}

export const hostPath = (resolved: Resolved): string => path.join(resolved.parent, ...resolved.missing, resolved.name)

/**
 * What to do with a symlink in a parent position: follow it inside the root (writes), or refuse the path
 * (whiteouts, whose whole meaning is "this name in this directory of the layer").
 */
export type ParentLinks = "follow" | "refuse"

const notADirectory = (at: string) =>
  Object.assign(new Error("a parent component is not a directory"), { code: "ENOTDIR", path: at })

const missingOnTheWay = (at: string) =>
  Object.assign(new Error("a symbolic link leads through this missing directory and back out with `..`"), {
    code: "ENOENT",
    path: at
  })

const isResolveFailure = (u: unknown): u is RootedPathError | UnpackIoError =>
  u instanceof UnsafePath || u instanceof TooManySymlinks || u instanceof UnpackIoError

const below = (dir: string, name: string) => (dir === path.sep ? dir + name : dir + path.sep + name)

/**
 * Resolves `components` (from `clean`, at least one) below `root`, an absolute path without symlinks.
 * Throws `RootedPathError | UnpackIoError`. Directories in `known` are taken as such without an `lstat`;
 * those found on the way are added to it.
 */
export const resolveSync = (
  root: string,
  components: ReadonlyArray<string>,
  parentLinks: ParentLinks,
  known?: KnownDirectories
): Resolved => {
  const name = components[components.length - 1]
  if (name === undefined) throw new Error("RootedPath.resolve needs at least one component")
  const pending = components.slice(0, -1).reverse()
  const reached: Array<string> = []
  let reachedPath = root
  let linksFollowed = 0
  for (let component = pending.pop(); component !== undefined; component = pending.pop()) {
    if (component === "" || component === ".") continue
    if (component === "..") {
      if (reached.pop() === undefined) {
        throw new UnsafePath({ path: components.join("/"), reason: "a symbolic link on its way climbs above the root" })
      }
      reachedPath = path.join(root, ...reached)
      continue
    }
    const at = below(reachedPath, component)
    if (known?.has(at) === true) {
      reached.push(component)
      reachedPath = at
      continue
    }
    const stat = fsSync("lstat", at, () => fs.lstatSync(at, { throwIfNoEntry: false }))
    if (stat === undefined) {
      pending.push(component)
      return { parent: reachedPath, missing: belowMissing(at, pending.reverse()), name }
    }
    if (stat.isSymbolicLink()) {
      if (parentLinks === "refuse") {
        throw new UnsafePath({
          path: components.join("/"),
          reason: `${JSON.stringify([...reached, component].join("/"))} on its way is a symbolic link`
        })
      }
      linksFollowed += 1
      if (linksFollowed > maxSymlinks) throw new TooManySymlinks({ path: components.join("/"), limit: maxSymlinks })
      const target = fsSync("readlink", at, () => fs.readlinkSync(at, "utf8"))
      if (target.startsWith("/")) {
        reached.length = 0
        reachedPath = root
      }
      pending.push(...target.split("/").reverse())
      continue
    }
    if (!stat.isDirectory()) {
      throw new UnpackIoError({ path: at, operation: "resolve", cause: notADirectory(at) })
    }
    known?.add(at)
    reached.push(component)
    reachedPath = at
  }
  return { parent: reachedPath, missing: [], name }
}

/** `resolveSync` as an Effect. */
export const resolve = (
  root: string,
  components: ReadonlyArray<string>,
  parentLinks: ParentLinks,
  known?: KnownDirectories
): Effect.Effect<Resolved, RootedPathError | UnpackIoError> =>
  trySync(() => resolveSync(root, components, parentLinks, known), isResolveFailure)

// Below a directory that does not exist, every further component is one the caller will create as a plain
// directory. A `..` there (only a link target can bring one) would walk back through a directory that does
// not exist yet, which the kernel answers with ENOENT; so do we.
const belowMissing = (at: string, rest: ReadonlyArray<string>): ReadonlyArray<string> => {
  const out = rest.filter((component) => component !== "" && component !== ".")
  if (out.includes("..")) throw new UnpackIoError({ path: at, operation: "resolve", cause: missingOnTheWay(at) })
  return out
}
