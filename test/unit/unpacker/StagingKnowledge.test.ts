// What the unpacker remembers about its staging tree (directories it checked or made, files still being
// written by its file lane) must never outlive a change a layer makes: a directory replaced by a symlink
// is walked again, and an entry that touches a path still being written waits for it.
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Fixture from "./LayerFixture.js"
import * as TreeSnapshot from "./TreeSnapshot.js"
import { exists, unpackOk, workspace } from "./Workspace.js"

// The canary's path without its leading `/`: where an absolute link to it lands inside the destination.
const inside = (dest: string, hostPath: string) => path.join(dest, hostPath.slice(1))

describe("Unpacker staging knowledge", () => {
  it("a directory replaced by a symlink in a later layer is resolved again, not remembered", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([
      { name: "a/", type: "directory" },
      { name: "a/nested/", type: "directory" },
      { name: "a/nested/old", content: "old" }
    ])
    const upper = await Fixture.layerOf([
      { name: "a", type: "symlink", linkname: ws.canary },
      { name: "a/nested/pwned", content: "contained" }
    ])
    await unpackOk({ layers: [lower, upper], dest: ws.dest, temp: ws.temp })
    expect(await TreeSnapshot.take(ws.canary)).toEqual(ws.canaryBefore)
    expect(await fs.readFile(path.join(inside(ws.dest, ws.canary), "nested", "pwned"), "utf8")).toBe("contained")
    expect(await exists(path.join(ws.dest, "a", "nested", "old"))).toBe(false)
  })

  it("a directory replaced by a symlink later in the same layer is resolved again, not remembered", async () => {
    const ws = await workspace()
    const evil = await Fixture.layerOf([
      { name: "x/", type: "directory" },
      { name: "x/nested/", type: "directory" },
      { name: "x/nested/first", content: "first" },
      { name: "x", type: "symlink", linkname: ws.canary },
      { name: "x/nested/pwned", content: "contained" }
    ])
    await unpackOk({ layers: [evil], dest: ws.dest, temp: ws.temp })
    expect(await TreeSnapshot.take(ws.canary)).toEqual(ws.canaryBefore)
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["x"]).toMatchObject({ type: "symlink", target: ws.canary })
    expect(await fs.readFile(path.join(inside(ws.dest, ws.canary), "nested", "pwned"), "utf8")).toBe("contained")
  })

  it("a file replaced by a directory in the same layer ends as that directory with its child", async () => {
    const ws = await workspace()
    const layer = await Fixture.layerOf([
      { name: "p", content: "a file first" },
      { name: "p/", type: "directory" },
      { name: "p/q", content: "child" }
    ])
    await unpackOk({ layers: [layer], dest: ws.dest, temp: ws.temp })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["p"]).toMatchObject({ type: "directory" })
    expect(tree["p/q"]).toMatchObject({ type: "file", text: "child" })
  })

  it("a file written twice in one layer keeps the second body and mode", async () => {
    const ws = await workspace()
    const layer = await Fixture.layerOf([
      { name: "etc/conf", content: "first", mode: 0o600 },
      { name: "etc/conf", content: "second", mode: 0o640 }
    ])
    await unpackOk({ layers: [layer], dest: ws.dest, temp: ws.temp })
    expect((await TreeSnapshot.take(ws.dest))["etc/conf"]).toMatchObject({ type: "file", text: "second", mode: 0o640 })
  })

  it("a hard link to a file written just before it in the same layer shares its inode", async () => {
    const ws = await workspace()
    const layer = await Fixture.layerOf([
      { name: "bin/tool", content: "#!/bin/sh\n", mode: 0o755 },
      { name: "bin/alias", type: "link", linkname: "bin/tool" }
    ])
    await unpackOk({ layers: [layer], dest: ws.dest, temp: ws.temp })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["bin/alias"]).toMatchObject({ type: "file", text: "#!/bin/sh\n", linkGroup: "bin/alias" })
    expect(tree["bin/tool"]).toMatchObject({ linkGroup: "bin/alias" })
  })

  it("many small files across directories all land with their content, mode and mtime", async () => {
    const ws = await workspace()
    const entries = Array.from({ length: 300 }, (_, i) => ({
      name: `d${i % 7}/f${i}`,
      content: `file ${i}\n`.repeat(1 + (i % 50)),
      mode: i % 3 === 0 ? 0o755 : 0o644
    }))
    await unpackOk({ layers: [await Fixture.layerOf(entries)], dest: ws.dest, temp: ws.temp })
    const tree = await TreeSnapshot.take(ws.dest)
    for (const [i, entry] of entries.entries()) {
      expect(tree[entry.name]).toMatchObject({
        type: "file",
        text: `file ${i}\n`.repeat(1 + (i % 50)),
        mode: entry.mode,
        mtime: Fixture.defaultMtime.getTime() / 1000
      })
    }
  })
})
