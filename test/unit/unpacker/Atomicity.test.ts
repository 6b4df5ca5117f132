// All or nothing at `dest`: an existing tree is refused or replaced only once the new one is complete,
// the tree is staged beside dest (or in temp on the same file system), an interrupted unpack leaves no
// trace, and layers downloaded ahead are still applied strictly in order.
import { Deferred, Effect, Either, Exit, Fiber, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { UnpackLayer, UnpackProgress } from "../../../src/services/Unpacker/Unpacker.js"
import { unpack } from "../../../src/services/Unpacker/Unpacker.js"
import * as Fixture from "./LayerFixture.js"
import * as TreeSnapshot from "./TreeSnapshot.js"
import { exists, outcomeTag, unpackEither, unpackOk, workspace } from "./Workspace.js"

/** `layer` with `before` run when its download starts. */
const onOpen = <E>(layer: UnpackLayer<E>, before: Effect.Effect<void>): UnpackLayer<E> => ({
  ...layer,
  open: () => Stream.concat(Stream.drain(Stream.fromEffect(before)), layer.open())
})

const versionLayer = (version: number) =>
  Fixture.layerOf([
    { name: "version", content: `${version}` },
    { name: `layers/${version}`, content: Buffer.alloc(20_000, version) }
  ])

describe("Unpacker atomicity and ordering", () => {
  it("refuses a non-empty destination without replace and leaves it untouched", async () => {
    const ws = await workspace()
    await fs.mkdir(ws.dest)
    await fs.writeFile(path.join(ws.dest, "mine"), "precious")
    const before = await TreeSnapshot.take(ws.dest)
    const result = await unpackEither({ layers: [await versionLayer(1)], dest: ws.dest })
    expect(outcomeTag(result)).toBe("DestinationExists")
    expect(Either.isLeft(result) && result.left).toMatchObject({ path: ws.dest })
    expect(await TreeSnapshot.take(ws.dest)).toEqual(before)
    expect(await ws.leftovers()).toEqual([])
  })

  it("fills an existing empty destination directory", async () => {
    const ws = await workspace()
    await fs.mkdir(ws.dest)
    await unpackOk({ layers: [await versionLayer(1)], dest: ws.dest })
    expect((await TreeSnapshot.take(ws.dest))["version"]).toMatchObject({ text: "1" })
  })

  it("with replace, the old tree stays in place until the new one is complete, then is removed", async () => {
    const ws = await workspace()
    await fs.mkdir(ws.dest)
    await fs.writeFile(path.join(ws.dest, "version"), "old")
    const seenDuringUnpack: Array<string> = []
    const look = Effect.promise(async () => {
      seenDuringUnpack.push(await fs.readFile(path.join(ws.dest, "version"), "utf8"))
    })
    const layers = [onOpen(await versionLayer(1), look), onOpen(await versionLayer(2), look)]
    await unpackOk({ layers, dest: ws.dest, options: { replace: true, concurrency: 1 } })
    expect(seenDuringUnpack).toEqual(["old", "old"])
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["version"]).toMatchObject({ text: "2" })
    expect(Object.keys(tree)).toEqual(["layers", "layers/1", "layers/2", "version"])
    expect(await ws.leftovers()).toEqual([])
  })

  it("stages the tree beside dest, as .<name>.staging-*, when no temp is given", async () => {
    const ws = await workspace()
    const staged: Array<ReadonlyArray<string>> = []
    const look = Effect.promise(async () => {
      staged.push(await ws.leftovers())
    })
    await unpackOk({ layers: [onOpen(await versionLayer(1), look)], dest: ws.dest })
    expect(staged).toHaveLength(1)
    expect(staged[0]).toEqual([expect.stringMatching(/^\.image\.staging-/)])
    expect(await ws.leftovers()).toEqual([])
  })

  it("stages the tree in temp when temp is on the file system of dest", async () => {
    const ws = await workspace()
    const seen: Array<{ besideDest: ReadonlyArray<string>; inTemp: ReadonlyArray<string> }> = []
    const look = Effect.promise(async () => {
      seen.push({ besideDest: await ws.leftovers(), inTemp: await fs.readdir(ws.temp) })
    })
    await unpackOk({ layers: [onOpen(await versionLayer(1), look)], dest: ws.dest, temp: ws.temp })
    expect(seen).toEqual([{ besideDest: [], inTemp: [expect.stringMatching(/^\.image\.staging-/)] }])
    expect(await fs.readdir(ws.temp)).toEqual([])
    expect((await TreeSnapshot.take(ws.dest))["version"]).toMatchObject({ text: "1" })
  })

  it("an interrupted unpack leaves no destination, no staging and no spool files", async () => {
    const ws = await workspace()
    const first = await versionLayer(1)
    const second = await versionLayer(2)
    const program = Effect.gen(function*() {
      const hanging = yield* Deferred.make<void>()
      const stuck: UnpackLayer<never> = {
        ...second,
        open: () => Stream.concat(Stream.take(second.open(), 2), Stream.fromEffect(Deferred.succeed(hanging, undefined)))
          .pipe(Stream.concat(Stream.never), Stream.filter((x): x is Uint8Array => x instanceof Uint8Array))
      }
      const fiber = yield* Effect.fork(
        unpack({ layers: [first, stuck], dest: ws.dest, temp: ws.temp, options: { concurrency: 2 } })
      )
      yield* Deferred.await(hanging)
      return yield* Fiber.interrupt(fiber)
    })
    const exit = await Effect.runPromise(program)
    expect(Exit.isInterrupted(exit)).toBe(true)
    expect(await exists(ws.dest)).toBe(false)
    expect(await ws.leftovers()).toEqual([])
    expect(await fs.readdir(ws.temp)).toEqual([])
  })

  it("downloads layers ahead, at most `concurrency` at once, and applies them strictly in order", async () => {
    const ws = await workspace()
    const count = 6
    const concurrency = 3
    const events: Array<UnpackProgress> = []
    let active = 0
    let maxActive = 0
    const program = Effect.gen(function*() {
      const opened = yield* Effect.forEach(Array.from({ length: count }), () => Deferred.make<void>())
      const layers: Array<UnpackLayer<never>> = []
      for (let index = 0; index < count; index++) {
        const base = yield* Effect.promise(() => versionLayer(index))
        const signal = Deferred.succeed(opened[index]!, undefined)
        // The first layer's bytes wait until the next two downloads have started: only a download ahead
        // lets this unpack finish.
        const gate: Effect.Effect<void> = index === 0
          ? Effect.zipRight(signal, Effect.all([Deferred.await(opened[1]!), Deferred.await(opened[2]!)], { discard: true }))
          : Effect.asVoid(signal)
        layers.push({
          ...base,
          open: () =>
            Stream.concat(Stream.drain(Stream.fromEffect(gate.pipe(Effect.timeout("10 seconds"), Effect.orDie))), base.open())
              .pipe(
                Stream.onStart(Effect.sync(() => {
                  active += 1
                  maxActive = Math.max(maxActive, active)
                })),
                Stream.ensuring(Effect.sync(() => {
                  active -= 1
                }))
              )
        })
      }
      return yield* unpack({
        layers,
        dest: ws.dest,
        temp: ws.temp,
        options: { concurrency, onProgress: (event) => events.push(event) }
      })
    })
    const result = await Effect.runPromise(program)
    expect(result.layers.map((l) => l.digest)).toHaveLength(count)
    expect(maxActive).toBeGreaterThanOrEqual(2)
    expect(maxActive).toBeLessThanOrEqual(concurrency)
    const applied = events.flatMap((e) => (e._tag === "LayerApplied" ? [e.layer] : []))
    expect(applied).toEqual([0, 1, 2, 3, 4, 5])
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["version"]).toMatchObject({ text: "5" })
    expect(Object.keys(tree).filter((p) => p.startsWith("layers/"))).toHaveLength(count)
    expect(await fs.readdir(ws.temp)).toEqual([])
  })

  it("reports each layer's downloaded bytes up to its size", async () => {
    const ws = await workspace()
    const layers = [await versionLayer(1), await versionLayer(2)]
    const last = new Map<number, { downloaded: number; total: number }>()
    await unpackOk({
      layers,
      dest: ws.dest,
      options: {
        onProgress: (event) => {
          if (event._tag === "LayerBytes") last.set(event.layer, event)
        }
      }
    })
    expect([...last.entries()]).toEqual([
      [0, expect.objectContaining({ downloaded: layers[0]!.size, total: layers[0]!.size })],
      [1, expect.objectContaining({ downloaded: layers[1]!.size, total: layers[1]!.size })]
    ])
  })
})
