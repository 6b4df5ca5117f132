// Directory modes, owners and mtimes, held back until every layer has been applied. Writing children moves
// a directory's mtime, and a read-only directory from a lower layer would stop an unprivileged unpack from
// adding to it or deleting in it in a later layer; so directories stay owner-writable while layers are
// applied and take their final metadata, deepest first, at the end.
import { Effect, Option } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fsCall, fsCallIfExists } from "./FsCall.js"
import type { UnpackIoError } from "./UnpackError.js"

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
    return Effect.forEach(deepestFirst, ([dir, metadata]) =>
      Effect.gen(this, function*() {
        const stat = yield* fsCallIfExists("lstat", dir, () => fs.lstat(dir))
        if (Option.isNone(stat) || !stat.value.isDirectory()) return
        if (this.asRoot) yield* fsCall("lchown", dir, () => fs.lchown(dir, metadata.uid, metadata.gid))
        yield* fsCall("chmod", dir, () => fs.chmod(dir, metadata.mode))
        yield* fsCall("utimes", dir, () => fs.utimes(dir, metadata.mtime, metadata.mtime))
      }), { discard: true })
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
