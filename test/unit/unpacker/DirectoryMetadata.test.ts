// Read-only directories of lower layers must not block later layers, with or without privileges: their
// modes are applied only after the last layer.
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { DirectoryMetadata, removeTree } from "../../../src/services/Unpacker/DirectoryMetadata.js"
import { applyLayer } from "../../../src/services/Unpacker/LayerApplier.js"
import * as Fixture from "./LayerFixture.js"
import * as TreeSnapshot from "./TreeSnapshot.js"
import { unpackOk, workspace } from "./Workspace.js"

describe("directory metadata across layers", () => {
  it("keeps a read-only directory writable until the last layer, then gives it its mode and mtime", async () => {
    const ws = await workspace()
    await fs.mkdir(ws.dest)
    const root = await fs.realpath(ws.dest)
    const directories = new DirectoryMetadata()
    const lower = await Fixture.tar([
      { name: "ro/", type: "directory", mode: 0o555 },
      { name: "ro/a", content: "a" }
    ])
    await Effect.runPromise(applyLayer(root, 0, { bytes: Fixture.chunked(lower), compression: "none" }, { directories }))
    expect((await fs.stat(path.join(root, "ro"))).mode & 0o777).toBe(0o755)
    const upper = await Fixture.tar([{ name: "ro/b", content: "b" }, { name: "ro/.wh.a" }])
    await Effect.runPromise(applyLayer(root, 1, { bytes: Fixture.chunked(upper), compression: "none" }, { directories }))
    await Effect.runPromise(directories.apply())
    const tree = await TreeSnapshot.take(root)
    expect(TreeSnapshot.shape(tree)).toEqual({ ro: "directory", "ro/b": "file" })
    expect(tree["ro"]).toMatchObject({ mode: 0o555, mtime: Fixture.defaultMtime.getTime() / 1000 })
    await removeTree(root)
  })

  it("forgets the metadata of a directory a later layer removed", async () => {
    const ws = await workspace()
    const image = [
      await Fixture.layerOf([{ name: "d/", type: "directory", mode: 0o700 }, { name: "d/x", content: "x" }]),
      await Fixture.layerOf([{ name: ".wh.d" }, { name: "d/y", content: "y" }])
    ]
    await unpackOk({ layers: image, dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(TreeSnapshot.shape(tree)).toEqual({ d: "directory", "d/y": "file" })
    expect(tree["d"]).toMatchObject({ mode: 0o755 })
  })

  it("removes a tree holding read-only directories", async () => {
    const ws = await workspace()
    const dir = path.join(ws.temp, "tree")
    await fs.mkdir(path.join(dir, "locked", "deeper"), { recursive: true })
    await fs.writeFile(path.join(dir, "locked", "deeper", "f"), "f")
    await fs.chmod(path.join(dir, "locked", "deeper"), 0o500)
    await fs.chmod(path.join(dir, "locked"), 0o500)
    await removeTree(dir)
    await expect(fs.lstat(dir)).rejects.toMatchObject({ code: "ENOENT" })
  })
})
