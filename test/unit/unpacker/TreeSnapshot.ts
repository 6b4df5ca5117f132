// A directory tree as plain data, so a test can compare what is on disk with what it expects in one
// `toEqual`: every path relative to the root, with its type, mode bits, owner, mtime, content digest,
// link target, and which paths share an inode (hard-link groups). Symlinks are recorded, never followed.
import { createHash } from "node:crypto"
import type { Stats } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"

interface Common {
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Seconds since the epoch, with the fraction the file system keeps. */
  readonly mtime: number
}

export type TreeNode =
  | Common & {
    readonly type: "file"
    readonly size: number
    readonly sha256: string
    /** The content as UTF-8 when the file is at most 4 KiB. */
    readonly text: string | undefined
    /** The first path (in sorted order) sharing this file's inode, when another path in the tree does. */
    readonly linkGroup: string | undefined
  }
  | Common & { readonly type: "directory" }
  | Common & { readonly type: "symlink"; readonly target: string }
  | Common & { readonly type: "fifo" | "socket" | "character-device" | "block-device" }

/** Paths are relative to the root with `/` separators, sorted; the root itself is not included. */
export type TreeSnapshot = Readonly<Record<string, TreeNode>>

const textLimit = 4096

const typeOf = (stat: Stats): TreeNode["type"] => {
  if (stat.isFile()) return "file"
  if (stat.isDirectory()) return "directory"
  if (stat.isSymbolicLink()) return "symlink"
  if (stat.isFIFO()) return "fifo"
  if (stat.isSocket()) return "socket"
  return stat.isCharacterDevice() ? "character-device" : "block-device"
}

const walk = async (root: string, relative: string, out: Array<[string, Stats]>): Promise<void> => {
  const names = (await fs.readdir(path.join(root, relative))).sort()
  for (const name of names) {
    const child = relative === "" ? name : `${relative}/${name}`
    const stat = await fs.lstat(path.join(root, child))
    out.push([child, stat])
    if (stat.isDirectory()) await walk(root, child, out)
  }
}

export const take = async (root: string): Promise<TreeSnapshot> => {
  const entries: Array<[string, Stats]> = []
  await walk(root, "", entries)
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const firstWithInode = new Map<number, string>()
  const inodeCount = new Map<number, number>()
  for (const [relative, stat] of entries) {
    if (!stat.isFile()) continue
    if (!firstWithInode.has(stat.ino)) firstWithInode.set(stat.ino, relative)
    inodeCount.set(stat.ino, (inodeCount.get(stat.ino) ?? 0) + 1)
  }
  const snapshot: Record<string, TreeNode> = {}
  for (const [relative, stat] of entries) {
    const full = path.join(root, relative)
    const common: Common = { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: stat.mtimeMs / 1000 }
    const type = typeOf(stat)
    if (type === "file") {
      const bytes = await fs.readFile(full)
      snapshot[relative] = {
        ...common,
        type,
        size: stat.size,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        text: bytes.length <= textLimit ? bytes.toString("utf8") : undefined,
        linkGroup: (inodeCount.get(stat.ino) ?? 0) > 1 ? firstWithInode.get(stat.ino) : undefined
      }
    } else if (type === "symlink") {
      snapshot[relative] = { ...common, type, target: await fs.readlink(full) }
    } else {
      snapshot[relative] = { ...common, type }
    }
  }
  return snapshot
}

/** The paths of a snapshot with their types: the shape of a tree without its metadata. */
export const shape = (snapshot: TreeSnapshot): Readonly<Record<string, TreeNode["type"]>> =>
  Object.fromEntries(Object.entries(snapshot).map(([p, node]) => [p, node.type]))
