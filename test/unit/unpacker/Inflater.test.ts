// The gzip inflaters, the synchronous one (Node's zlib handle driven into one reused buffer) and the
// stream one it falls back to: same output as Node's gunzip for a split stream, several members, zero
// padding after the end, an output that refuses chunks; the same failures for a cut or a corrupt stream.
import { createHash } from "node:crypto"
import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import * as Inflater from "../../../src/services/Unpacker/Inflater.js"

const pseudoRandom = (length: number, seed: number) => {
  const bytes = Buffer.alloc(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    // Half text-like (compressible), half noise, so both inflate paths of zlib run.
    bytes[i] = i % 4096 < 2048 ? 97 + (x >>> 28) : x >>> 24
  }
  return bytes
}

interface Outcome {
  readonly bytes: Buffer
  readonly error: unknown
  readonly chunks: number
}

/**
 * Feeds `blob` in `pieceSize` pieces to an inflater whose output refuses every `refuseEvery`-th chunk (then
 * pumps a little later), and checks that each chunk is intact until the output has taken it.
 */
const run = (kind: Inflater.GzipKind, blob: Uint8Array, pieceSize: number, refuseEvery = 0) =>
  new Promise<Outcome>((resolve) => {
    const parts: Array<Buffer> = []
    let chunks = 0
    let settled = false
    const done = (error: unknown) => {
      if (settled) return
      settled = true
      resolve({ bytes: Buffer.concat(parts), error, chunks })
    }
    let inflater: Inflater.Inflater
    let at = 0
    // The pieces written, whose memory the caller reuses (scribbles over) once the inflater is not
    // saturated: it may keep views of them until then, not after.
    let written: Array<Buffer> = []
    const reuse = () => {
      if (inflater.saturated) return
      for (const piece of written) piece.fill(0xee)
      written = []
    }
    const feed = () => {
      reuse()
      while (at < blob.length && !inflater.saturated) {
        const piece = Buffer.from(blob.subarray(at, at + pieceSize))
        at += pieceSize
        written.push(piece)
        inflater.write(piece)
        reuse()
      }
      if (at >= blob.length) inflater.end()
    }
    const output: Inflater.InflaterOutput = {
      data: (chunk) => {
        chunks += 1
        parts.push(Buffer.from(chunk))
        if (refuseEvery > 0 && chunks % refuseEvery === 0) {
          setTimeout(() => inflater.pump(), 1)
          return false
        }
        return true
      },
      end: () => done(undefined),
      error: (cause) => done(cause),
      drain: () => setImmediate(feed)
    }
    inflater = Inflater.make("gzip", output, kind)
    feed()
  })

const kinds: ReadonlyArray<Inflater.GzipKind> = Inflater.syncGzipAvailable() ? ["sync", "stream"] : ["stream"]

describe("gzip inflaters", () => {
  it("this Node's gunzip can be driven synchronously (else the stream inflater is used)", () => {
    expect(Inflater.syncGzipAvailable()).toBe(true)
  })

  const text = pseudoRandom(3 * 1024 * 1024 + 333, 7)
  const member = zlib.gzipSync(text)

  for (const kind of kinds) {
    describe(kind, () => {
      for (const [pieceSize, refuseEvery] of [[member.length, 0], [65_536, 0], [4_999, 3], [100_000, 1]] as const) {
        it(`inflates what Node's gunzip does, in ${pieceSize}-byte pieces, refusing every ${refuseEvery || "no"} chunk`, async () => {
          const outcome = await run(kind, member, pieceSize, refuseEvery)
          expect(outcome.error).toBeUndefined()
          expect(createHash("sha256").update(outcome.bytes).digest("hex")).toBe(createHash("sha256").update(text).digest("hex"))
        })
      }

      it("inflates every member of a multi-member gzip, and ignores zero padding after the end", async () => {
        const second = Buffer.from("second member\n")
        const blob = Buffer.concat([member, zlib.gzipSync(second), Buffer.alloc(1024)])
        const outcome = await run(kind, blob, 70_000, 2)
        expect(outcome.error).toBeUndefined()
        expect(outcome.bytes.equals(Buffer.concat([text, second]))).toBe(true)
      })

      it("fails on a stream cut short", async () => {
        const outcome = await run(kind, member.subarray(0, member.length - 5_000), 65_536)
        expect(outcome.error).toBeInstanceOf(Error)
        expect(String(outcome.error)).toMatch(/unexpected end of file/)
      })

      it("fails on bytes that are not gzip, and on garbage after the end", async () => {
        const notGzip = await run(kind, Buffer.from("this is plain text, not gzip".repeat(100)), 1000)
        expect(String(notGzip.error)).toMatch(/incorrect header check/)
        const trailing = await run(kind, Buffer.concat([member, Buffer.from("garbage!")]), 65_536)
        expect(String(trailing.error)).toMatch(/incorrect header check/)
      })
    })
  }
})
