// Images built to break out of the destination, pushed to the real registry and pulled by the client.
// Each must fail with UnsafeLayerEntry (or LayerTooLarge for the bomb) naming the layer and the entry,
// leave no dest (or an existing one byte for byte as it was), no staging directory beside dest or in
// temp, and the canary directory next to dest untouched. Relative link targets such as `../canary` point
// from dest at the canary, so the images do not depend on where the workspace lives.
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { buildImage, buildLayer, Entry, zeroContent, type LayerEntry } from "../../registry-fixture/ImageBuilder.js"
import * as TreeSnapshot from "../../unit/unpacker/TreeSnapshot.js"
import { workspace } from "../../unit/unpacker/Workspace.js"
import { expectNoTrace, occupy } from "./NoTrace.js"
import { pull, push, unpackRegistry } from "./UnpackRegistry.js"

interface Attack {
  readonly name: string
  readonly repository: string
  /** The entries of each layer, lowest first. */
  readonly layers: ReadonlyArray<ReadonlyArray<LayerEntry>>
  readonly maxLayerBytes?: number
  readonly expected:
    | { readonly _tag: "UnsafeLayerEntry"; readonly layer: number; readonly entry: string }
    | { readonly _tag: "LayerTooLarge"; readonly layer: number; readonly limit: number }
}

const attacks: ReadonlyArray<Attack> = [
  {
    name: "a name whose .. climbs out of dest",
    repository: "hostile/dotdot",
    layers: [[Entry.file("ok", "fine"), Entry.file("../canary/pwned", "x")]],
    expected: { _tag: "UnsafeLayerEntry", layer: 0, entry: "../canary/pwned" }
  },
  {
    name: "an absolute name that climbs out with ..",
    repository: "hostile/absolute",
    layers: [[Entry.file("/../canary/secret", "overwritten")]],
    expected: { _tag: "UnsafeLayerEntry", layer: 0, entry: "/../canary/secret" }
  },
  {
    name: "an entry below a symlink placed earlier in the same layer",
    repository: "hostile/symlink-same-layer",
    layers: [[Entry.symlink("evil", "../canary"), Entry.file("evil/pwned", "x")]],
    expected: { _tag: "UnsafeLayerEntry", layer: 0, entry: "evil/pwned" }
  },
  {
    name: "an entry below a symlink placed by an earlier layer",
    repository: "hostile/symlink-lower-layer",
    layers: [
      [Entry.directory("usr"), Entry.symlink("usr/evil", "../../canary")],
      [Entry.directory("usr"), Entry.file("usr/evil/secret", "overwritten")]
    ],
    expected: { _tag: "UnsafeLayerEntry", layer: 1, entry: "usr/evil/secret" }
  },
  {
    name: "a hard link to a file outside dest",
    repository: "hostile/hardlink",
    layers: [[Entry.file("ok", "fine"), Entry.hardlink("stolen", "../canary/secret")]],
    expected: { _tag: "UnsafeLayerEntry", layer: 0, entry: "stolen" }
  },
  {
    name: "a whiteout reached through a symlink",
    repository: "hostile/whiteout-symlink",
    layers: [[Entry.symlink("evil", "../canary")], [Entry.whiteout("evil/secret")]],
    expected: { _tag: "UnsafeLayerEntry", layer: 1, entry: "evil/.wh.secret" }
  },
  {
    name: "an opaque whiteout marker reached through a symlink",
    repository: "hostile/opaque-symlink",
    layers: [[Entry.symlink("evil", "../canary")], [Entry.opaqueWhiteout("evil")]],
    expected: { _tag: "UnsafeLayerEntry", layer: 1, entry: "evil/.wh..wh..opq" }
  },
  {
    name: "a gzip bomb inflating beyond maxLayerBytes",
    repository: "hostile/bomb",
    layers: [[Entry.file("zeros", zeroContent(64 * 1024 * 1024))]],
    maxLayerBytes: 1024 * 1024,
    expected: { _tag: "LayerTooLarge", layer: 0, limit: 1024 * 1024 }
  }
]

const pushAttack = (attack: Attack) =>
  Effect.gen(function*() {
    const layers = yield* Effect.forEach(attack.layers, (entries) => buildLayer(entries, { compression: "gzip" }))
    // A bomb is only a bomb when its blob is small.
    if (attack.expected._tag === "LayerTooLarge") expect(layers[0]!.size).toBeLessThan(256 * 1024)
    yield* push(attack.repository, "v1", buildImage({ layers }))
  })

const options = (attack: Attack, temp: string, replace: boolean) => ({
  temp,
  unpack: { replace, ...(attack.maxLayerBytes === undefined ? {} : { maxLayerBytes: attack.maxLayerBytes }) }
})

layer(unpackRegistry, { timeout: "120 seconds", excludeTestServices: true })("hostile images pulled from the real registry", (it) => {
  for (const attack of attacks) {
    it.effect(`${attack.name} fails with ${attack.expected._tag} and leaves no dest, staging or change outside`, () =>
      Effect.gen(function*() {
        const ws = yield* Effect.promise(workspace)
        yield* pushAttack(attack)
        const error = yield* Effect.flip(pull(attack.repository, "v1", ws.dest, options(attack, ws.temp, false)))
        expect(error).toMatchObject(attack.expected)
        if (attack.expected._tag === "UnsafeLayerEntry") {
          expect(error.message).toContain(`layer #${attack.expected.layer}`)
          expect(error.message).toContain(JSON.stringify(attack.expected.entry))
        }
        yield* Effect.promise(() => expectNoTrace(ws))
      }))

    it.effect(`${attack.name} over an existing dest with replace leaves that dest byte for byte as it was`, () =>
      Effect.gen(function*() {
        const ws = yield* Effect.promise(workspace)
        const before = yield* Effect.promise(() => occupy(ws))
        yield* pushAttack(attack)
        const error = yield* Effect.flip(pull(attack.repository, "v1", ws.dest, options(attack, ws.temp, true)))
        expect(error).toMatchObject(attack.expected)
        yield* Effect.promise(() => expectNoTrace(ws, before))
      }))
  }

  it.effect("an absolute symlink aimed at the canary is followed from the image root, so the write lands inside dest", () =>
    Effect.gen(function*() {
      const ws = yield* Effect.promise(workspace)
      const lower = yield* buildLayer([Entry.symlink("evil", ws.canary)])
      const upper = yield* buildLayer([Entry.file("evil/secret", "written inside\n")])
      yield* push("hostile/absolute-symlink", "v1", buildImage({ layers: [lower, upper] }))
      yield* pull("hostile/absolute-symlink", "v1", ws.dest, { temp: ws.temp })
      const tree = yield* Effect.promise(() => TreeSnapshot.take(ws.dest))
      expect(tree["evil"]).toMatchObject({ type: "symlink", target: ws.canary })
      expect(tree[path.join(ws.canary.slice(1), "secret")]).toMatchObject({ type: "file", text: "written inside\n" })
      expect(yield* Effect.promise(() => TreeSnapshot.take(ws.canary))).toEqual(ws.canaryBefore)
    }))
})
