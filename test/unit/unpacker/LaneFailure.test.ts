// A file the file system refuses to create (here a name longer than a directory entry may be) fails on the
// lane's thread: the unpack ends with an UnpackIoError naming the file and the operation, whether the file
// is the last entry or more entries follow, in a new directory or in one a lower layer made, and leaves no
// destination and no staging behind.
import { Either } from "effect"
import * as fs from "node:fs/promises"
import { describe, expect, it } from "vitest"
import * as Fixture from "./LayerFixture.js"
import { exists, outcomeTag, unpackEither, workspace } from "./Workspace.js"

const tooLong = "n".repeat(300)

describe("a file the lane cannot create", () => {
  it.each([
    ["as the last entry", [{ name: `dir/${tooLong}`, content: "x" }]],
    ["with entries after it", [
      { name: `dir/${tooLong}`, content: "x" },
      ...Array.from({ length: 50 }, (_, i) => ({ name: `dir/f${i}`, content: "y".repeat(2000) }))
    ]]
  ])("%s fails with UnpackIoError and leaves nothing", async (_, entries) => {
    const ws = await workspace()
    const result = await unpackEither({ layers: [await Fixture.layerOf(entries)], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("UnpackIoError")
    expect(Either.isLeft(result) && result.left).toMatchObject({ operation: "create", cause: { code: "ENAMETOOLONG" } })
    expect(Either.isLeft(result) && (result.left as { path: string }).path.endsWith(`/dir/${tooLong}`)).toBe(true)
    expect(await exists(ws.dest)).toBe(false)
    expect(await ws.leftovers()).toEqual([])
    expect(await fs.readdir(ws.temp)).toEqual([])
  })

  it("in a directory a lower layer made fails the same way", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([{ name: "dir/a", content: "a" }])
    const upper = await Fixture.layerOf([{ name: `dir/${tooLong}`, content: "x" }])
    const result = await unpackEither({ layers: [lower, upper], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("UnpackIoError")
    expect(Either.isLeft(result) && result.left).toMatchObject({ cause: { code: "ENAMETOOLONG" } })
    expect(await exists(ws.dest)).toBe(false)
    expect(await ws.leftovers()).toEqual([])
  })
})
