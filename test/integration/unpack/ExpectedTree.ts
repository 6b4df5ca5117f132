// Expected trees written out by hand, node by node as TreeSnapshot records them, so a test compares what
// the client unpacked with what the layers say rather than with anything the code under test computed.
// Defaults are what the fixture's ImageBuilder writes: 0644 files, 0755 directories, 0:0, 2024-01-01.
import { createHash } from "node:crypto"
import { expect } from "vitest"
import type { TreeNode, TreeSnapshot } from "../../unit/unpacker/TreeSnapshot.js"

/** Ownership is only given away by root; other runs compare trees without uid and gid. */
export const asRoot = process.getuid?.() === 0

/** The mtime ImageBuilder gives entries that name none, in seconds. */
export const builderMtime = Date.parse("2024-01-01T00:00:00Z") / 1000

export const seconds = (iso: string): number => Date.parse(iso) / 1000

interface Meta {
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  /** Seconds since the epoch. */
  readonly mtime?: number
}

const common = (meta: Meta, mode: number) => ({
  mode: meta.mode ?? mode,
  uid: meta.uid ?? 0,
  gid: meta.gid ?? 0,
  mtime: meta.mtime ?? builderMtime
})

export const file = (content: string | Uint8Array, meta: Meta & { readonly linkGroup?: string } = {}): TreeNode => {
  const bytes = Buffer.from(content)
  return {
    ...common(meta, 0o644),
    type: "file",
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    text: bytes.length <= 4096 ? bytes.toString("utf8") : undefined,
    linkGroup: meta.linkGroup
  }
}

export const directory = (meta: Meta = {}): TreeNode => ({ ...common(meta, 0o755), type: "directory" })

/** Linux symlinks always have mode 0777, whatever the header says. */
export const symlink = (target: string, meta: Omit<Meta, "mode"> = {}): TreeNode => ({
  ...common(meta, 0o777),
  type: "symlink",
  target
})

const ownerless = (tree: TreeSnapshot) =>
  Object.fromEntries(Object.entries(tree).map(([p, { uid: _uid, gid: _gid, ...rest }]) => [p, rest]))

/** Compares every path and field; uid and gid only when running as root. */
export const expectTree = (actual: TreeSnapshot, expected: TreeSnapshot): void => {
  if (asRoot) expect(actual).toEqual(expected)
  else expect(ownerless(actual)).toEqual(ownerless(expected))
}
