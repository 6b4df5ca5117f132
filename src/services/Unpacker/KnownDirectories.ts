// What the unpacker knows of its staging tree without asking the file system: which host paths are real
// directories (not symlinks), so that resolving the next entry's parents needs no `lstat` of each, and which
// names exist in the directories it made itself, so that a new file there needs no `lstat` either (which
// would wait on the directory while other files are being created in it). Sound because the staging tree
// is private to the unpack: only the unpacker changes it, recording what it creates and calling `forget`
// whenever it removes or replaces a path.
import * as path from "node:path"

export class KnownDirectories {
  private readonly known = new Set<string>()
  // Directories this unpack made (empty then), and every name created in them since.
  private readonly made = new Set<string>()
  private readonly created = new Set<string>()

  has(hostPath: string): boolean {
    return this.known.has(hostPath)
  }

  /** `hostPath` is a directory (checked with `lstat`), and so are its ancestors up to the root. */
  add(hostPath: string): void {
    this.known.add(hostPath)
  }

  /** `dir` was just made, empty, by the unpack (its parent is known, or is the root). */
  madeDirectory(dir: string): void {
    this.known.add(dir)
    this.made.add(dir)
    this.created.add(dir)
  }

  /** Something was created at `hostPath`. */
  createdAt(hostPath: string): void {
    this.created.add(hostPath)
  }

  /** True when `hostPath` certainly does not exist: its directory was made by the unpack, not this name. */
  absent(hostPath: string): boolean {
    return this.made.has(path.dirname(hostPath)) && !this.created.has(hostPath)
  }

  /** `hostPath` is being removed or replaced: it and everything below it are no longer known. */
  forget(hostPath: string): void {
    this.created.delete(hostPath)
    // Every known path's ancestors are known, so nothing below an unknown path can be.
    if (!this.known.delete(hostPath)) return
    this.made.delete(hostPath)
    const below = hostPath + path.sep
    for (const set of [this.known, this.made, this.created]) {
      for (const p of set) {
        if (p.startsWith(below)) set.delete(p)
      }
    }
  }
}
