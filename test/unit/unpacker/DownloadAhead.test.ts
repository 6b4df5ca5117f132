// Later layers are downloaded ahead of their turn, into spool files, while the first one is applied, once
// the network proves slower than applying (the first layer waits for its bytes). A spooled gzip layer is
// read back through one reused buffer: it must unpack to the same bytes, and a corrupt or mis-hashed
// spooled layer must still end the unpack with its own typed error and leave nothing behind. The first
// layer is made slow so that the second one is surely spooled before its turn.
import { Effect, Either, Stream } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Digest from "../../../src/domain/Digest.js"
import * as MediaType from "../../../src/domain/MediaType.js"
import { aheadAfterWaitMillis } from "../../../src/services/Unpacker/Unpacker.js"
import * as Fixture from "./LayerFixture.js"
import { exists, outcomeTag, unpackEither, unpackOk, workspace } from "./Workspace.js"

// Larger than several read buffers of the spool reader, so that they are reused many times over.
const big = Buffer.alloc(3 * 1024 * 1024 + 12_345)
for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24

// The first layer, its bytes held back long enough that the unpacker counts the network as the bottleneck.
const first = async (log?: Array<string>) => {
  const layer = await Fixture.layerOf([{ name: "one/a.txt", content: "one a" }])
  return {
    ...layer,
    open: () =>
      Stream.fromEffect(Effect.sleep(`${aheadAfterWaitMillis + 100} millis`)).pipe(
        Stream.drain,
        Stream.concat(layer.open()),
        Stream.concat(Stream.fromEffect(Effect.sleep("100 millis")).pipe(Stream.drain)),
        Stream.ensuring(Effect.sync(() => log?.push("first done")))
      )
  }
}

const logged = <L extends { readonly open: () => Stream.Stream<Uint8Array> }>(layer: L, log: Array<string>, name: string): L => ({
  ...layer,
  open: () => {
    log.push(`${name} opened`)
    return layer.open()
  }
})

describe("downloading ahead", () => {
  it("does not download ahead while the bytes come faster than they are applied", async () => {
    const log: Array<string> = []
    const ws = await workspace()
    const fast = await Fixture.layerOf(
      Array.from({ length: 400 }, (_, i) => ({ name: `one/f${i}.txt`, content: `file ${i}` }))
    )
    const firstLayer = { ...fast, open: () => fast.open().pipe(Stream.ensuring(Effect.sync(() => log.push("first done")))) }
    const second = await Fixture.layerOf([{ name: "two/b.txt", content: "two b" }])
    await unpackOk({ layers: [firstLayer, logged(second, log, "second")], dest: ws.dest, temp: ws.temp })
    expect(log).toEqual(["first done", "second opened"])
    expect(await fs.readFile(path.join(ws.dest, "two/b.txt"), "utf8")).toBe("two b")
  })

  it("starts the next layer's download once the waits of a slow trickle add up", async () => {
    const log: Array<string> = []
    const ws = await workspace()
    // 80 KiB that gzip cannot shrink: 20 pieces of 4 KiB.
    const noise = randomBytes(80 * 1024)
    const slow = await Fixture.layerOf([{ name: "one/noise.bin", content: noise }])
    // Each piece of the blob comes 60 ms after the one before: the waits reach the threshold piece by piece.
    const trickle = {
      ...slow,
      open: () =>
        slow.open().pipe(
          Stream.rechunk(1),
          Stream.mapEffect((chunk) => Effect.as(Effect.sleep("60 millis"), chunk)),
          Stream.ensuring(Effect.sync(() => log.push("first done")))
        )
    }
    const second = await Fixture.layerOf([{ name: "two/b.txt", content: "two b" }])
    await unpackOk({ layers: [trickle, logged(second, log, "second")], dest: ws.dest, temp: ws.temp })
    expect(log).toEqual(["second opened", "first done"])
    expect(Buffer.compare(await fs.readFile(path.join(ws.dest, "one/noise.bin")), noise)).toBe(0)
  })

  it("starts the next layer's download while the first one is applied, once the first waits for its bytes", async () => {
    const log: Array<string> = []
    const ws = await workspace()
    const second = await Fixture.layerOf([{ name: "two/b.txt", content: "two b" }])
    await unpackOk({ layers: [await first(log), logged(second, log, "second")], dest: ws.dest, temp: ws.temp })
    expect(log).toEqual(["second opened", "first done"])
    expect(await fs.readFile(path.join(ws.dest, "two/b.txt"), "utf8")).toBe("two b")
  })
})

describe("spooled gzip layers", () => {
  it("a large gzip layer downloaded ahead unpacks to the same bytes", async () => {
    const ws = await workspace()
    const second = await Fixture.layerOf([
      { name: "two/big.bin", content: big },
      { name: "two/small.txt", content: "small" }
    ])
    await unpackOk({ layers: [await first(), second], dest: ws.dest, temp: ws.temp, options: { concurrency: 2 } })
    expect(Buffer.compare(await fs.readFile(path.join(ws.dest, "two/big.bin")), big)).toBe(0)
    expect(await fs.readFile(path.join(ws.dest, "two/small.txt"), "utf8")).toBe("small")
  })

  it("a corrupt gzip layer downloaded ahead fails with DecompressionFailed and leaves nothing behind", async () => {
    const ws = await workspace()
    const garbage = new TextEncoder().encode("not gzip at all ".repeat(100))
    const second = Fixture.layer(garbage, "none", { mediaType: MediaType.OciLayerTarGzip })
    const result = await unpackEither({ layers: [await first(), second], dest: ws.dest, temp: ws.temp, options: { concurrency: 2 } })
    expect(outcomeTag(result)).toBe("DecompressionFailed")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 1, compression: "gzip" })
    expect(await exists(ws.dest)).toBe(false)
    expect(await fs.readdir(ws.temp)).toEqual([])
  })

  it("a gzip layer downloaded ahead whose tar does not hash to its diff_id fails with DiffIdMismatch", async () => {
    const ws = await workspace()
    const second = await Fixture.layerOf([{ name: "two/big.bin", content: big }])
    const wrong = { ...second, diffId: Digest.fromBytes(new TextEncoder().encode("other")) }
    const result = await unpackEither({ layers: [await first(), wrong], dest: ws.dest, temp: ws.temp, options: { concurrency: 2 } })
    expect(outcomeTag(result)).toBe("DiffIdMismatch")
    expect(Either.isLeft(result) && result.left).toMatchObject({ layer: 1, actual: second.diffId })
    expect(await exists(ws.dest)).toBe(false)
    expect(await fs.readdir(ws.temp)).toEqual([])
  })
})
