// The layer pipe with a handler that holds the tar reader (as the unpacker does while its file lane
// catches up): every byte of the tar stream reaches the hasher, in order, before the digest is taken, and
// every body reaches its sink, whatever the compression, however the blob is cut, and wherever the
// holding falls (the last entry's header arriving in the last chunk the inflater delivers included).
import { Effect, Either } from "effect"
import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import * as Digest from "../../../src/domain/Digest.js"
import type { LayerCompression } from "../../../src/domain/MediaType.js"
import type { TarHasher } from "../../../src/services/Unpacker/LayerPipe.js"
import { readLayerPipelined } from "../../../src/services/Unpacker/LayerPipe.js"
import type { BodySink, EntryHandler, TarHeader } from "../../../src/services/Unpacker/TarEntries.js"
import * as Fixture from "./LayerFixture.js"

const later = (f: () => void) => setTimeout(f, 2)

// Holds the reader before the entries `holdBefore` picks, once each, releasing it a little later.
const holdingHandler = (holdBefore: (name: string) => boolean) => {
  const bodies = new Map<string, Array<Uint8Array>>()
  const held = new Set<string>()
  const handler: EntryHandler = {
    entry: (header: TarHeader): BodySink | undefined => {
      const parts: Array<Uint8Array> = []
      bodies.set(header.name, parts)
      return { write: (chunk) => parts.push(Uint8Array.from(chunk)), end: () => undefined, abort: () => undefined }
    },
    wait: (header, ready) => {
      if (held.has(header.name) || !holdBefore(header.name)) return false
      held.add(header.name)
      later(ready)
      return true
    },
    settled: () => false
  }
  return { handler, bodies, held }
}

// Hashes what it is given (a copy, as the lane takes one), and answers the digest a little later.
const recordingHasher = () => {
  const seen: Array<Uint8Array> = []
  let hash = createHash("sha256")
  let digested = false
  const hasher: TarHasher = {
    start: (algorithm) => {
      hash = createHash(algorithm)
    },
    update: (bytes, body) => {
      if (digested) throw new Error("bytes hashed after the digest was taken")
      seen.push(Uint8Array.from(bytes))
      hash.update(bytes)
      body?.write(bytes)
    },
    digest: () => {
      digested = true
      const hex = hash.digest("hex")
      return new Promise((resolve) => later(() => resolve(hex)))
    }
  }
  return { hasher, seen: () => Buffer.concat(seen) }
}

const entries: ReadonlyArray<Fixture.EntrySpec> = [
  { name: "dir", type: "directory" },
  { name: "dir/small.txt", content: "small" },
  { name: "dir/big.bin", content: Buffer.alloc(300_000, 7) },
  { name: "dir/link", type: "link", linkname: "dir/big.bin" },
  { name: "last.txt", content: "the last entry" }
]

const compress = (tar: Uint8Array, compression: LayerCompression) =>
  compression === "none" ? tar : compression === "gzip" ? Fixture.gzip(tar) : Fixture.zstd(tar)

// A backlog (the file lane) that reports itself full at every other look, and frees up a little later.
const busyBacklog = () => {
  let looks = 0
  return {
    get full() {
      looks += 1
      return looks % 2 === 0
    },
    onProgress: later
  }
}

const run = (
  blob: Uint8Array,
  chunkSize: number,
  compression: LayerCompression,
  diffId: Digest.Digest | undefined,
  holdBefore: (name: string) => boolean,
  backlog: { readonly full: boolean; readonly onProgress: (wake: () => void) => void } = { full: false, onProgress: later }
) => {
  const { bodies, handler, held } = holdingHandler(holdBefore)
  const { hasher, seen } = recordingHasher()
  const source = { bytes: Fixture.chunked(blob, chunkSize), compression, diffId }
  const options = { maxLayerBytes: Number.POSITIVE_INFINITY, tarHasher: hasher, backlog }
  // Read to the end, then verified: the tar bytes once the diff_id matched and the handler is done.
  const read = readLayerPipelined(0, source, handler, (_u): _u is never => false, options)
  return Effect.runPromise(Effect.either(Effect.flatMap(read, (layer) => Effect.as(layer.verified, layer.tarBytes))))
    .then((outcome) => ({ outcome, bodies, held, seen: seen() }))
}

const bodyOf = (bodies: Map<string, Array<Uint8Array>>, name: string) => Buffer.concat(bodies.get(name) ?? [])

describe("LayerPipe with a handler that holds the reader", () => {
  const cases: ReadonlyArray<[string, (name: string) => boolean]> = [
    ["before the last entry", (name) => name === "last.txt"],
    ["before every entry", () => true],
    ["before the hard link", (name) => name === "dir/link"]
  ]
  for (const compression of ["gzip", "zstd", "none"] as const) {
    for (const [where, holdBefore] of cases) {
      for (const chunkSize of [1 << 30, 4096]) {
        const cut = chunkSize > 1e9 ? "in one chunk" : "in 4 KiB chunks"
        it(`${compression}, held ${where}, blob ${cut}: the digest covers every tar byte`, async () => {
          const tar = await Fixture.tar(entries)
          const diffId = Digest.fromBytes(tar)
          const { bodies, held, outcome, seen } = await run(compress(tar, compression), chunkSize, compression, diffId, holdBefore)
          expect(Either.isRight(outcome) && outcome.right).toBe(tar.length)
          expect(held.size).toBeGreaterThan(0)
          expect(Buffer.compare(seen, Buffer.from(tar))).toBe(0)
          expect(Buffer.compare(bodyOf(bodies, "dir/big.bin"), Buffer.alloc(300_000, 7))).toBe(0)
          expect(bodyOf(bodies, "last.txt").toString()).toBe("the last entry")
        })
      }
    }
    it(`${compression}, held before the last entry, no diff_id: the reader ends after the held entry`, async () => {
      const tar = await Fixture.tar(entries)
      const { bodies, outcome } = await run(compress(tar, compression), 1 << 30, compression, undefined, (name) => name === "last.txt")
      expect(Either.isRight(outcome) && outcome.right).toBe(tar.length)
      expect(bodyOf(bodies, "last.txt").toString()).toBe("the last entry")
    })
  }

  for (const compression of ["gzip", "zstd", "none"] as const) {
    it(`${compression}, a backlog full at every other chunk: every tar byte is hashed before the digest`, async () => {
      const tar = await Fixture.tar(entries)
      const { bodies, outcome, seen } = await run(
        compress(tar, compression),
        4096,
        compression,
        Digest.fromBytes(tar),
        (name) => name === "last.txt",
        busyBacklog()
      )
      expect(Either.isRight(outcome) && outcome.right).toBe(tar.length)
      expect(Buffer.compare(seen, Buffer.from(tar))).toBe(0)
      expect(bodyOf(bodies, "last.txt").toString()).toBe("the last entry")
    })
  }

  it("a wrong diff_id is still caught when the reader was held at the end", async () => {
    const tar = await Fixture.tar(entries)
    const wrong = Digest.fromBytes(new TextEncoder().encode("other"))
    const { outcome } = await run(Fixture.gzip(tar), 1 << 30, "gzip", wrong, (name) => name === "last.txt")
    expect(Either.isLeft(outcome) && outcome.left._tag).toBe("DiffIdMismatch")
    expect(Either.isLeft(outcome) && outcome.left).toMatchObject({ expected: wrong, actual: Digest.fromBytes(tar) })
  })
})
