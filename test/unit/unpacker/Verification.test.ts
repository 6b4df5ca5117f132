// Nothing unverified reaches the destination: a blob with the wrong digest or size, a tar with the wrong
// diff_id, an unknown media type, a corrupt compressed stream or a download failing midway each end the
// unpack with its typed error and leave no destination and no staging behind.
import { Data, Either, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Digest from "../../../src/domain/Digest.js"
import * as MediaType from "../../../src/domain/MediaType.js"
import type { UnpackLayer } from "../../../src/services/Unpacker/Unpacker.js"
import * as Fixture from "./LayerFixture.js"
import * as TreeSnapshot from "./TreeSnapshot.js"
import type { Workspace } from "./Workspace.js"
import { exists, outcomeTag, unpackEither, workspace } from "./Workspace.js"

class DownloadFailed extends Data.TaggedError("DownloadFailed")<{ readonly at: number }> {}

const files = (prefix: string) => [
  { name: `${prefix}/a.txt`, content: `${prefix} a` },
  { name: `${prefix}/b.bin`, content: Buffer.alloc(50_000, prefix) }
]

const expectNothingLeft = async (ws: Workspace) => {
  expect(await exists(ws.dest)).toBe(false)
  expect(await ws.leftovers()).toEqual([])
  expect(await fs.readdir(ws.temp)).toEqual([])
}

const otherDigest = Digest.fromBytes(new TextEncoder().encode("something else"))

describe("Unpacker verification", () => {
  it("a blob that does not hash to its descriptor digest fails with LayerDigestMismatch", async () => {
    const ws = await workspace()
    const good = await Fixture.layerOf(files("one"))
    const result = await unpackEither({ layers: [{ ...good, digest: otherDigest }], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("LayerDigestMismatch")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 0, expected: otherDigest, actual: good.digest })
    await expectNothingLeft(ws)
  })

  it("a blob shorter than its descriptor size fails with LayerSizeMismatch", async () => {
    const ws = await workspace()
    const good = await Fixture.layerOf(files("one"))
    const result = await unpackEither({ layers: [{ ...good, size: good.size + 1 }], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("LayerSizeMismatch")
    expect(Either.isLeft(result) && result.left).toMatchObject({ expected: good.size + 1, actual: good.size })
    await expectNothingLeft(ws)
  })

  it("a blob longer than its descriptor size fails as soon as it passes the size, without reading the rest", async () => {
    const ws = await workspace()
    const good = await Fixture.layerOf(files("one"))
    const endless: UnpackLayer<never> = {
      ...good,
      open: () => Stream.concat(good.open(), Stream.repeatValue(new Uint8Array(1024)))
    }
    const result = await unpackEither({ layers: [endless], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("LayerSizeMismatch")
    await expectNothingLeft(ws)
  })

  it("a tar that does not hash to the diff_id fails with DiffIdMismatch after being applied in staging", async () => {
    const ws = await workspace()
    const good = await Fixture.layerOf(files("one"))
    const result = await unpackEither({ layers: [{ ...good, diffId: otherDigest }], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("DiffIdMismatch")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 0, expected: otherDigest })
    await expectNothingLeft(ws)
  })

  it("a wrong diff_id of the last layer fails the whole unpack", async () => {
    const ws = await workspace()
    const layers = [
      await Fixture.layerOf(files("one")),
      await Fixture.layerOf(files("two"), "zstd"),
      { ...await Fixture.layerOf(files("three"), "none"), diffId: otherDigest }
    ]
    const result = await unpackEither({ layers, dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("DiffIdMismatch")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 2 })
    await expectNothingLeft(ws)
  })

  it("a layer downloaded ahead with the wrong digest fails the unpack", async () => {
    const ws = await workspace()
    const layers = [
      await Fixture.layerOf(files("one")),
      { ...await Fixture.layerOf(files("two")), digest: otherDigest },
      await Fixture.layerOf(files("three"))
    ]
    const result = await unpackEither({ layers, dest: ws.dest, temp: ws.temp, options: { concurrency: 3 } })
    expect(outcomeTag(result)).toBe("LayerDigestMismatch")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 1 })
    await expectNothingLeft(ws)
  })

  it("an unknown media type fails with UnsupportedLayerMediaType naming it, before any download", async () => {
    const ws = await workspace()
    let opened = 0
    const good = await Fixture.layerOf(files("one"))
    const counted = { ...good, open: () => Stream.suspend(() => (opened += 1, good.open())) }
    const strange = { ...counted, mediaType: "application/vnd.example.layer.v1.tar+brotli" }
    const result = await unpackEither({ layers: [counted, strange], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("UnsupportedLayerMediaType")
    expect(Either.isLeft(result) && result.left).toMatchObject({
      layer: 1,
      mediaType: "application/vnd.example.layer.v1.tar+brotli"
    })
    expect(opened).toBe(0)
    await expectNothingLeft(ws)
  })

  it.each([
    ["gzip", MediaType.OciLayerTarGzip],
    ["zstd", MediaType.OciLayerTarZstd]
  ])("a corrupt %s stream fails with DecompressionFailed", async (compression, mediaType) => {
    const ws = await workspace()
    const garbage = new TextEncoder().encode("this is not compressed data at all, just text".repeat(20))
    const layer = Fixture.layer(garbage, "none", { mediaType })
    const result = await unpackEither({ layers: [layer], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("DecompressionFailed")
    expect(Either.isLeft(result) && result.left).toMatchObject({ compression })
    await expectNothingLeft(ws)
  })

  it("a tar cut off in the middle of a file fails with MalformedLayer", async () => {
    const ws = await workspace()
    const whole = await Fixture.tar(files("one"))
    const layer = Fixture.layer(whole.subarray(0, 10_000), "gzip")
    const result = await unpackEither({ layers: [layer], dest: ws.dest, temp: ws.temp })
    expect(outcomeTag(result)).toBe("MalformedLayer")
    await expectNothingLeft(ws)
  })

  it("a download failing in the middle of a layer fails with its own error and leaves dest as it was", async () => {
    const ws = await workspace()
    await fs.mkdir(ws.dest)
    await fs.writeFile(path.join(ws.dest, "old"), "old tree")
    const before = await TreeSnapshot.take(ws.dest)
    const good = await Fixture.layerOf(files("one"), "none")
    const failing: UnpackLayer<DownloadFailed> = {
      ...good,
      open: () => Stream.concat(Stream.take(good.open(), 5), Stream.fail(new DownloadFailed({ at: 5 })))
    }
    const result = await unpackEither({ layers: [failing], dest: ws.dest, options: { replace: true } })
    expect(outcomeTag(result)).toBe("DownloadFailed")
    expect(await TreeSnapshot.take(ws.dest)).toEqual(before)
    expect(await ws.leftovers()).toEqual([])
  })
})
