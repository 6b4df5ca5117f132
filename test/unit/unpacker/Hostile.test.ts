// Layers written to break out of the destination. Each must fail with a typed error naming the entry and
// the layer, leave no destination (or the old one untouched) and no staging directory, and leave the
// canary directory outside the destination exactly as it was.
import { Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { UnpackLayer } from "../../../src/services/Unpacker/Unpacker.js"
import * as Fixture from "./LayerFixture.js"
import * as TreeSnapshot from "./TreeSnapshot.js"
import type { Workspace } from "./Workspace.js"
import { exists, outcomeTag, unpackEither, unpackOk, workspace } from "./Workspace.js"

const expectRefused = async (
  ws: Workspace,
  layers: ReadonlyArray<UnpackLayer<never>>,
  expected: { readonly tag: string; readonly layer: number; readonly entry?: string },
  options: { readonly maxLayerBytes?: number } = {}
) => {
  const result = await unpackEither({ layers, dest: ws.dest, temp: ws.temp, options })
  expect(outcomeTag(result)).toBe(expected.tag)
  const error = Either.isLeft(result) ? result.left : undefined
  expect(error).toMatchObject(
    expected.entry === undefined ? { layer: expected.layer } : { layer: expected.layer, entry: expected.entry }
  )
  expect(await exists(ws.dest)).toBe(false)
  expect(await ws.leftovers()).toEqual([])
  expect(await fs.readdir(ws.temp)).toEqual([])
  expect(await TreeSnapshot.take(ws.canary)).toEqual(ws.canaryBefore)
}

describe("Unpacker against hostile layers", () => {
  it("refuses a name whose .. climbs out of the destination", async () => {
    const ws = await workspace()
    const evil = await Fixture.layerOf([{ name: "ok", content: "ok" }, { name: "../canary/pwned", content: "x" }])
    await expectRefused(ws, [evil], { tag: "UnsafeLayerEntry", layer: 0, entry: "../canary/pwned" })
  })

  it("refuses an absolute name that climbs out with ..", async () => {
    const ws = await workspace()
    const evil = await Fixture.layerOf([{ name: "/../../canary/secret", content: "overwritten" }])
    await expectRefused(ws, [evil], { tag: "UnsafeLayerEntry", layer: 0, entry: "/../../canary/secret" })
  })

  it("refuses an entry below a symlink placed earlier in the same layer that leads outside", async () => {
    const ws = await workspace()
    const evil = await Fixture.layerOf([
      { name: "evil", type: "symlink", linkname: "../canary" },
      { name: "evil/pwned", content: "x" }
    ])
    await expectRefused(ws, [evil], { tag: "UnsafeLayerEntry", layer: 0, entry: "evil/pwned" })
  })

  it("refuses an entry below a symlink placed by an earlier layer that leads outside", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([{ name: "usr/", type: "directory" }, {
      name: "usr/evil",
      type: "symlink",
      linkname: "../../../../../../../../.." + ws.canary
    }])
    const upper = await Fixture.layerOf([{ name: "usr/evil/secret", content: "overwritten" }])
    await expectRefused(ws, [lower, upper], { tag: "UnsafeLayerEntry", layer: 1, entry: "usr/evil/secret" })
  })

  it("refuses a hard link to a file outside the destination", async () => {
    const ws = await workspace()
    const evil = await Fixture.layerOf([{ name: "stolen", type: "link", linkname: "../canary/secret" }])
    await expectRefused(ws, [evil], { tag: "UnsafeLayerEntry", layer: 0, entry: "stolen" })
  })

  it("refuses a hard link whose target is reached through a symlink leading outside", async () => {
    const ws = await workspace()
    const evil = await Fixture.layerOf([
      { name: "out", type: "symlink", linkname: "../canary" },
      { name: "stolen", type: "link", linkname: "out/secret" }
    ])
    await expectRefused(ws, [evil], { tag: "UnsafeLayerEntry", layer: 0, entry: "stolen" })
  })

  it("refuses a whiteout reached through a symlink", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([{ name: "evil", type: "symlink", linkname: ws.canary }])
    const upper = await Fixture.layerOf([{ name: "evil/.wh.secret" }])
    await expectRefused(ws, [lower, upper], { tag: "UnsafeLayerEntry", layer: 1, entry: "evil/.wh.secret" })
  })

  it("refuses a whiteout with a symlink further up its path", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([{ name: "evil", type: "symlink", linkname: ws.canary }])
    const upper = await Fixture.layerOf([{ name: "evil/nested/.wh.keep" }])
    await expectRefused(ws, [lower, upper], { tag: "UnsafeLayerEntry", layer: 1, entry: "evil/nested/.wh.keep" })
  })

  it("refuses an opaque whiteout marker reached through a symlink", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([{ name: "evil", type: "symlink", linkname: ws.canary }])
    const upper = await Fixture.layerOf([{ name: "evil/.wh..wh..opq" }])
    await expectRefused(ws, [lower, upper], { tag: "UnsafeLayerEntry", layer: 1, entry: "evil/.wh..wh..opq" })
  })

  it("refuses a whiteout whose name climbs out with ..", async () => {
    const ws = await workspace()
    const evil = await Fixture.layerOf([{ name: "../canary/.wh.secret" }])
    await expectRefused(ws, [evil], { tag: "UnsafeLayerEntry", layer: 0, entry: "../canary/.wh.secret" })
  })

  it("refuses an entry below a loop of symlinks", async () => {
    const ws = await workspace()
    const evil = await Fixture.layerOf([
      { name: "a", type: "symlink", linkname: "b" },
      { name: "b", type: "symlink", linkname: "a" },
      { name: "a/file", content: "x" }
    ])
    await expectRefused(ws, [evil], { tag: "UnsafeLayerEntry", layer: 0, entry: "a/file" })
  })

  it("stops a gzip bomb at maxLayerBytes", async () => {
    const ws = await workspace()
    const bomb = await Fixture.layerOf([{ name: "zeros", content: Buffer.alloc(8 * 1024 * 1024) }], "gzip")
    expect(bomb.size).toBeLessThan(64 * 1024)
    await expectRefused(ws, [bomb], { tag: "LayerTooLarge", layer: 0 }, { maxLayerBytes: 1024 * 1024 })
  })

  it("stops a zstd bomb at maxLayerBytes", async () => {
    const ws = await workspace()
    const bomb = await Fixture.layerOf([{ name: "zeros", content: Buffer.alloc(8 * 1024 * 1024) }], "zstd")
    await expectRefused(ws, [bomb], { tag: "LayerTooLarge", layer: 0 }, { maxLayerBytes: 1024 * 1024 })
  })

  it("a file entry over a symlink to outside replaces the link instead of writing through it", async () => {
    const ws = await workspace()
    const layers = [
      await Fixture.layerOf([
        { name: "absolute", type: "symlink", linkname: path.join(ws.canary, "secret") },
        { name: "relative", type: "symlink", linkname: "../canary/nested/keep" }
      ]),
      await Fixture.layerOf([{ name: "absolute", content: "mine" }, { name: "relative", content: "mine too" }])
    ]
    await unpackOk({ layers, dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["absolute"]).toMatchObject({ type: "file", text: "mine" })
    expect(tree["relative"]).toMatchObject({ type: "file", text: "mine too" })
    expect(await TreeSnapshot.take(ws.canary)).toEqual(ws.canaryBefore)
  })

  it("a directory entry over a symlink to outside replaces the link, and entries below it stay inside", async () => {
    const ws = await workspace()
    const layer = await Fixture.layerOf([
      { name: "d", type: "symlink", linkname: "../canary" },
      { name: "d/", type: "directory" },
      { name: "d/secret", content: "inside" }
    ])
    await unpackOk({ layers: [layer], dest: ws.dest })
    expect(TreeSnapshot.shape(await TreeSnapshot.take(ws.dest))).toEqual({ d: "directory", "d/secret": "file" })
    expect(await TreeSnapshot.take(ws.canary)).toEqual(ws.canaryBefore)
  })

  it("leaves an existing destination untouched when a replacing unpack meets a hostile entry", async () => {
    const ws = await workspace()
    await fs.mkdir(ws.dest)
    await fs.writeFile(path.join(ws.dest, "old"), "old tree")
    const before = await TreeSnapshot.take(ws.dest)
    const evil = await Fixture.layerOf([{ name: "new", content: "new" }, { name: "../canary/pwned", content: "x" }])
    const result = await unpackEither({ layers: [evil], dest: ws.dest, options: { replace: true } })
    expect(outcomeTag(result)).toBe("UnsafeLayerEntry")
    expect(await TreeSnapshot.take(ws.dest)).toEqual(before)
    expect(await ws.leftovers()).toEqual([])
    expect(await TreeSnapshot.take(ws.canary)).toEqual(ws.canaryBefore)
  })
})
