// The unpacker's promise to its byte sources (UnpackLayer.open): it is done with a chunk when it pulls the
// next one, so a source may reuse the chunk's memory then (the registry client's transient blobs do). The
// sources here deliver every chunk in the same buffer and scribble over the previous chunk at each pull:
// whatever the unpacker kept without copying would come out as garbage, in the tree or as a failed check.
import { Effect, Option, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { UnpackLayer } from "../../../src/services/Unpacker/Unpacker.js"
import * as Fixture from "./LayerFixture.js"
import { unpackOk, workspace } from "./Workspace.js"

// Pseudo-random bytes that gzip barely shrinks, so that the blob spans many chunks.
const noise = (length: number, seed: number) => {
  const bytes = Buffer.alloc(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return bytes
}

/** `blob` in chunks of `chunkSize`, each a view of one buffer that the next pull overwrites. */
const reusing = (blob: Uint8Array, chunkSize: number): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    const buffer = Buffer.alloc(chunkSize)
    let offset = 0
    return Stream.repeatEffectOption(Effect.sync(() => {
      buffer.fill(0xee)
      return offset
    }).pipe(Effect.flatMap((at) => {
      if (at >= blob.length) return Effect.fail(Option.none())
      const piece = blob.subarray(at, at + chunkSize)
      buffer.set(piece)
      offset += piece.length
      return Effect.succeed(buffer.subarray(0, piece.length))
    })))
  })

const withReusingSource = (layer: UnpackLayer<never>, blob: Uint8Array, chunkSize: number): UnpackLayer<never> => ({
  ...layer,
  open: () => reusing(blob, chunkSize)
})

const blobOf = (tarBytes: Uint8Array, compression: Fixture.Compression) =>
  compression === "none" ? tarBytes : compression === "gzip" ? Fixture.gzip(tarBytes) : Fixture.zstd(tarBytes)

const big = noise(3 * 1024 * 1024 + 4321, 7)
const other = noise(700_000, 11)

describe("a source that reuses each chunk's memory at the next pull", () => {
  for (const compression of ["gzip", "zstd", "none"] as const) {
    for (const concurrency of [1, 3]) {
      for (const chunkSize of [65_536, 5_000]) {
        it(`${compression}, concurrency ${concurrency}, ${chunkSize}-byte chunks: the tree has the right bytes`, async () => {
          const ws = await workspace()
          const tars = [
            await Fixture.tar([{ name: "a/big.bin", content: big }, { name: "a/small.txt", content: "small" }]),
            await Fixture.tar([{ name: "b/other.bin", content: other }, { name: "a/small.txt", content: "replaced" }])
          ]
          const layers = tars.map((tarBytes) => {
            const blob = blobOf(tarBytes, compression)
            return withReusingSource(Fixture.layer(tarBytes, compression), blob, chunkSize)
          })
          await unpackOk({ layers, dest: ws.dest, temp: ws.temp, options: { concurrency } })
          expect(Buffer.compare(await fs.readFile(path.join(ws.dest, "a/big.bin")), big)).toBe(0)
          expect(Buffer.compare(await fs.readFile(path.join(ws.dest, "b/other.bin")), other)).toBe(0)
          expect(await fs.readFile(path.join(ws.dest, "a/small.txt"), "utf8")).toBe("replaced")
        })
      }
    }
  }
})
