// Layers overlap at their boundary: the next layer downloads and applies while the file lane finishes the
// last writes of the one before and its diff_id is checked. The order of the result and the errors stays
// as if they ran one after the other: an earlier layer's failure is the one reported, and it stops the
// later layer at once.
import { Either, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Digest from "../../../src/domain/Digest.js"
import type { UnpackLayer, UnpackProgress } from "../../../src/services/Unpacker/Unpacker.js"
import * as Fixture from "./LayerFixture.js"
import { exists, outcomeTag, unpackEither, unpackOk, workspace } from "./Workspace.js"

const otherDigest = Digest.fromBytes(new TextEncoder().encode("not this layer"))

// A layer that leaves the lane busy at its end: a large file, then hundreds of small ones (each a file to
// create, so the last slabs handed to the lane take it a while).
const heavyLayer = () =>
  Fixture.layerOf([
    { name: "big.bin", content: Buffer.alloc(8 * 1024 * 1024, 7) },
    ...Array.from({ length: 600 }, (_, i) => ({ name: `small/f${i}.txt`, content: Buffer.alloc(8000, i % 251) }))
  ], "none")

describe("Unpacker pipelining across layers", () => {
  it("starts the next layer before the lane has finished the one before, and ends with the same tree", async () => {
    const ws = await workspace()
    const events: Array<string> = []
    const first = await heavyLayer()
    const second = await Fixture.layerOf([
      { name: "small/f1.txt", content: "replaced" },
      { name: "small/.wh.f2.txt", content: "" },
      { name: "second.txt", content: "two" }
    ])
    const watched: UnpackLayer<never> = {
      ...second,
      open: () => Stream.suspend(() => (events.push("open 1"), second.open()))
    }
    const onProgress = (event: UnpackProgress) => {
      if (event._tag === "LayerApplied") events.push(`applied ${event.layer}`)
    }
    await unpackOk({ layers: [first, watched], dest: ws.dest, temp: ws.temp, options: { onProgress } })
    expect(events).toEqual(["open 1", "applied 0", "applied 1"])
    expect((await fs.stat(path.join(ws.dest, "big.bin"))).size).toBe(8 * 1024 * 1024)
    expect(await fs.readFile(path.join(ws.dest, "small/f1.txt"), "utf8")).toBe("replaced")
    expect(await exists(path.join(ws.dest, "small/f2.txt"))).toBe(false)
    expect(await fs.readFile(path.join(ws.dest, "small/f599.txt"))).toEqual(Buffer.alloc(8000, 599 % 251))
    expect(await fs.readFile(path.join(ws.dest, "second.txt"), "utf8")).toBe("two")
  })

  it("a wrong diff_id is reported for its layer, and stops the next layer's download (here one that never ends)", async () => {
    const ws = await workspace()
    const first = { ...await heavyLayer(), diffId: otherDigest }
    const second = await Fixture.layerOf([{ name: "second.txt", content: "two" }])
    const endless: UnpackLayer<never> = { ...second, open: () => Stream.concat(Stream.take(second.open(), 1), Stream.never) }
    const result = await unpackEither({ layers: [first, endless], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("DiffIdMismatch")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 0, expected: otherDigest })
    expect(await exists(ws.dest)).toBe(false)
    expect(await ws.leftovers()).toEqual([])
  })

  it("when a layer and the one before it both fail, the earlier failure is the one reported", async () => {
    const ws = await workspace()
    const first = { ...await heavyLayer(), diffId: otherDigest }
    const whole = await Fixture.tar([{ name: "b.bin", content: Buffer.alloc(50_000, 1) }])
    const cut = Fixture.layer(whole.subarray(0, 10_000), "gzip")
    const result = await unpackEither({ layers: [first, cut], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("DiffIdMismatch")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 0 })
    expect(await ws.leftovers()).toEqual([])
  })

  it("a layer's own failure is reported when the layer before it is fine", async () => {
    const ws = await workspace()
    const whole = await Fixture.tar([{ name: "b.bin", content: Buffer.alloc(50_000, 1) }])
    const result = await unpackEither({
      layers: [await heavyLayer(), Fixture.layer(whole.subarray(0, 10_000), "gzip")],
      dest: ws.dest,
      temp: ws.temp
    })
    expect(outcomeTag(result)).toBe("MalformedLayer")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 1 })
    expect(await ws.leftovers()).toEqual([])
  })
})
