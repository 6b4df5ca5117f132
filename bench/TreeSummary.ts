// What makes two unpacked trees "the same" for the benchmark: counts, bytes, and one digest over every
// path, type, permission bits and file content, so a fast side cannot win by writing less or writing wrong.
// Synchronous on purpose: nothing else runs meanwhile, and 10 000 thread-pool round trips would be slower.
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"

export interface TreeSummary {
  readonly files: number
  readonly directories: number
  readonly symlinks: number
  readonly bytes: number
  readonly digest: string
}

const buffer = Buffer.allocUnsafe(1 << 20)

const contentDigest = (file: string): string => {
  const hash = createHash("sha256")
  const fd = fs.openSync(file, "r")
  try {
    for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) hash.update(buffer.subarray(0, n))
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest("hex")
}

export const summarize = (root: string): TreeSummary => {
  const tree = createHash("sha256")
  let files = 0
  let directories = 0
  let symlinks = 0
  let bytes = 0
  const walk = (dir: string, relative: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name)
      const rel = relative === "" ? name : `${relative}/${name}`
      const stat = fs.lstatSync(full)
      const mode = (stat.mode & 0o7777).toString(8)
      if (stat.isDirectory()) {
        directories += 1
        tree.update(`d ${rel} ${mode}\n`)
        walk(full, rel)
      } else if (stat.isSymbolicLink()) {
        symlinks += 1
        tree.update(`l ${rel} ${fs.readlinkSync(full)}\n`)
      } else {
        files += 1
        bytes += stat.size
        tree.update(`f ${rel} ${mode} ${stat.size} ${contentDigest(full)}\n`)
      }
    }
  }
  walk(root, "")
  return { files, directories, symlinks, bytes, digest: tree.digest("hex") }
}
