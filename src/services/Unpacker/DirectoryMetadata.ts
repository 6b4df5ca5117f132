// Directory modes, owners and mtimes, held back until every layer has been applied. Writing children moves
// a directory's mtime, and a read-only directory from a lower layer would stop an unprivileged unpack from
// adding to it or deleting in it in a later layer; so directories stay owner-writable while layers are
// applied and take their final metadata, deepest first, at the end.
import type { Effect } from "effect"
import { chmodSync, lchownSync, lstatSync, utimesSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fsSync, trySync } from "./FsCall.js"
import { UnpackIoError } from "./UnpackError.js"

export interface Metadata {
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Seconds since the epoch; PAX headers may give fractions. */
  readonly mtime: number
}

export class DirectoryMetadata {
  private readonly pending = new Map<string, Metadata>()
  private readonly asRoot = process.getuid?.() === 0

  /** The metadata `dir` must end with; a later entry for the same directory wins. */
  set(dir: string, metadata: Metadata): void {
    this.pending.set(dir, metadata)
  }

  /** `removed` and everything below it left the tree: whatever appears there later starts afresh. */
  forget(removed: string): void {
    const below = removed.endsWith(path.sep) ? removed : removed + path.sep
    for (const dir of this.pending.keys()) {
      if (dir === removed || dir.startsWith(below)) this.pending.delete(dir)
    }
  }

  /** Applies everything held back, deepest first so that a directory made unreadable is done last. */
  apply(): Effect.Effect<void, UnpackIoError> {
    const deepestFirst = [...this.pending].sort(([a], [b]) => b.length - a.length)
    this.pending.clear()
    return trySync(() => {
      for (const [dir, metadata] of deepestFirst) {
        const stat = fsSync("lstat", dir, () => lstatSync(dir, { throwIfNoEntry: false }))
        if (stat === undefined || !stat.isDirectory()) continue
        if (this.asRoot) fsSync("lchown", dir, () => lchownSync(dir, metadata.uid, metadata.gid))
        fsSync("chmod", dir, () => chmodSync(dir, metadata.mode))
        fsSync("utimes", dir, () => utimesSync(dir, metadata.mtime, metadata.mtime))
      }
    }, (u): u is UnpackIoError => u instanceof UnpackIoError)
  }
}

/** Removes a tree even when an unprivileged process left read-only directories in it. */
export const removeTree = async (dir: string): Promise<void> => {
  try {
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 3 })
  } catch {
    await makeWritable(dir)
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined)
  }
}

const makeWritable = async (dir: string): Promise<void> => {
  const stat = await fs.lstat(dir).catch(() => undefined)
  if (stat === undefined || !stat.isDirectory()) return
  await fs.chmod(dir, 0o700).catch(() => undefined)
  const names = await fs.readdir(dir).catch(() => [] as Array<string>)
  for (const name of names) await makeWritable(path.join(dir, name))
}
