// What a failed pull must leave behind: nothing. No destination (or the old one byte for byte), no
// staging or aside directory beside it, nothing in temp, and the canary outside exactly as it was.
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { expect } from "vitest"
import * as TreeSnapshot from "../../unit/unpacker/TreeSnapshot.js"
import type { Workspace } from "../../unit/unpacker/Workspace.js"
import { exists } from "../../unit/unpacker/Workspace.js"

/** Fills `ws.dest` with an earlier image and returns its snapshot, for "left as it was" checks. */
export const occupy = async (ws: Workspace): Promise<TreeSnapshot.TreeSnapshot> => {
  await fs.mkdir(path.join(ws.dest, "etc"), { recursive: true })
  await fs.writeFile(path.join(ws.dest, "etc", "release"), "the previous image\n")
  await fs.symlink("etc/release", path.join(ws.dest, "release"))
  return TreeSnapshot.take(ws.dest)
}

/** `before` is the snapshot of an occupied dest; without it dest must not exist. */
export const expectNoTrace = async (ws: Workspace, before?: TreeSnapshot.TreeSnapshot): Promise<void> => {
  if (before === undefined) expect(await exists(ws.dest)).toBe(false)
  else expect(await TreeSnapshot.take(ws.dest)).toEqual(before)
  expect(await ws.leftovers()).toEqual([])
  expect(await fs.readdir(ws.temp)).toEqual([])
  expect(await TreeSnapshot.take(ws.canary)).toEqual(ws.canaryBefore)
}
