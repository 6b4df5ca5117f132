// Progress of a pull and unpack end to end: `onProgress` hears every layer's bytes as they arrive from the
// real registry, up to each layer's size, and one LayerApplied per layer, in manifest order, counting up
// to the number of layers. Checked both with layers downloaded ahead and with one download at a time.
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { UnpackProgress } from "../../../src/services/Unpacker/Unpacker.js"
import { buildImage, buildLayer, Entry, pseudoRandomContent, type BuiltImage } from "../../registry-fixture/ImageBuilder.js"
import { workspace } from "../../unit/unpacker/Workspace.js"
import { pull, push, unpackRegistry } from "./UnpackRegistry.js"

/** Three layers of different sizes and compressions; the first spans many reads of the HTTP body. */
const threeLayers = Effect.gen(function*() {
  const big = yield* buildLayer([Entry.file("big", pseudoRandomContent(3 * 1024 * 1024, 1))], { compression: "gzip" })
  const small = yield* buildLayer([Entry.file("small", "small\n")], { compression: "none" })
  const medium = yield* buildLayer([Entry.file("medium", pseudoRandomContent(512 * 1024, 2))], { compression: "zstd" })
  return buildImage({ layers: [big, small, medium] })
})

const expectProgressOf = (image: BuiltImage, events: ReadonlyArray<UnpackProgress>) => {
  image.layers.forEach((layer, index) => {
    const bytes = events.flatMap((e) => (e._tag === "LayerBytes" && e.layer === index ? [e] : []))
    expect(bytes.every((e) => e.total === layer.size && e.digest === layer.digest)).toBe(true)
    const counts = bytes.map((e) => e.downloaded)
    expect(counts).toEqual([...counts].sort((a, b) => a - b))
    expect(new Set(counts).size).toBe(counts.length)
    expect(counts.at(-1)).toBe(layer.size)
    // A layer is applied only once all of its bytes are in.
    const lastBytes = events.lastIndexOf(bytes.at(-1)!)
    const applied = events.findIndex((e) => e._tag === "LayerApplied" && e.layer === index)
    expect(applied).toBeGreaterThan(lastBytes)
  })
  expect(events.filter((e) => e._tag === "LayerApplied")).toEqual(
    image.layers.map((layer, index) => ({
      _tag: "LayerApplied",
      layer: index,
      digest: layer.digest,
      layersDone: index + 1,
      layersTotal: image.layers.length
    }))
  )
}

layer(unpackRegistry, { timeout: "120 seconds", excludeTestServices: true })("unpack progress, pulled from the real registry", (it) => {
  it.effect("with layers downloaded ahead, bytes reach each layer's size and layersDone reaches the layer count", () =>
    Effect.gen(function*() {
      const ws = yield* Effect.promise(workspace)
      const image = yield* threeLayers
      yield* push("progress/ahead", "v1", image)
      const events: Array<UnpackProgress> = []
      yield* pull("progress/ahead", "v1", ws.dest, { temp: ws.temp, unpack: { onProgress: (e) => events.push(e) } })
      expect(image.layers[0]!.size).toBeGreaterThan(3 * 1024 * 1024)
      expect(events.filter((e) => e._tag === "LayerBytes" && e.layer === 0).length).toBeGreaterThan(1)
      expectProgressOf(image, events)
    }))

  it.effect("one download at a time reports the same: bytes up to each size, then the layer applied", () =>
    Effect.gen(function*() {
      const ws = yield* Effect.promise(workspace)
      const image = yield* threeLayers
      yield* push("progress/serial", "v1", image)
      const events: Array<UnpackProgress> = []
      yield* pull("progress/serial", "v1", ws.dest, {
        temp: ws.temp,
        unpack: { concurrency: 1, onProgress: (e) => events.push(e) }
      })
      expectProgressOf(image, events)
      // One at a time: no byte of a layer arrives before the last byte of the layer below it. (The layer
      // below may still be finishing in the background, its last files written and its diff_id checked:
      // its LayerApplied can come after the first bytes of the next.)
      image.layers.slice(1).forEach((_, i) => {
        const firstBytes = events.findIndex((e) => e._tag === "LayerBytes" && e.layer === i + 1)
        const belowLastBytes = events.reduce((last, e, at) => (e._tag === "LayerBytes" && e.layer === i ? at : last), -1)
        expect(firstBytes).toBeGreaterThan(belowLastBytes)
      })
    }))
})
