// Pull and unpack end to end when what the registry serves does not match what the manifest and config
// promise: wrong bytes, sizes and diff_ids, odd media types, broken connections, truncated blobs. Every
// failure must leave an occupied dest byte for byte as it was, with no staging directory anywhere.
// Faults on the wire come from the fixture's fault proxy; lies in the manifest are pushed as such.
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { Fault } from "../../registry-fixture/FaultProxy.js"
import { buildImage, buildLayer, Entry, rewriteManifest, type BuiltImage, type BuiltLayer } from "../../registry-fixture/ImageBuilder.js"
import * as TreeSnapshot from "../../unit/unpacker/TreeSnapshot.js"
import { workspace, type Workspace } from "../../unit/unpacker/Workspace.js"
import { directory, expectTree, file } from "./ExpectedTree.js"
import { expectNoTrace, occupy } from "./NoTrace.js"
import { blobRequestsSince, faults, pull, push, UnpackRegistry, unpackRegistry } from "./UnpackRegistry.js"

const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const data = "0123456789abcdef".repeat(320)

/** Layer 0: an uncompressed tar whose file body starts at byte 1024; layer 1: a gzip layer. */
const twoLayers = Effect.gen(function*() {
  const lower = yield* buildLayer([Entry.directory("etc"), Entry.file("etc/data", data)], { compression: "none" })
  const upper = yield* buildLayer([Entry.file("hello", "hello from the upper layer\n")], { compression: "gzip" })
  return [lower, upper] as const
})

/** The path of a blob in the registry API, for proxy rules that must hit that blob only. */
const blobPath = (digest: string) => new RegExp(`/blobs/${digest}$`)

const withLayerField = (image: BuiltImage, index: number, field: string, value: unknown) =>
  rewriteManifest(image, (m) => ({
    ...m,
    layers: (m["layers"] as ReadonlyArray<Record<string, unknown>>).map((l, i) => (i === index ? { ...l, [field]: value } : l))
  }))

/** A fresh workspace whose dest already holds an earlier image, and that image's snapshot. */
const occupiedWorkspace = Effect.promise(async () => {
  const ws = await workspace()
  return { ws, before: await occupy(ws) }
})

const replaceInto = (ws: Workspace, viaProxy = false) =>
  ({ temp: ws.temp, viaProxy, unpack: { replace: true } }) as const

layer(unpackRegistry, { timeout: "120 seconds", excludeTestServices: true })("verified pull and unpack against the real registry", (it) => {
  it.scoped("a layer blob corrupted on the wire fails with DigestMismatch naming the blob, and dest stays as it was", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      yield* push("verify/corrupt", "v1", buildImage({ layers: [lower, upper] }))
      // A byte of the file body: the tar still parses, so only the digest can tell. The registry client's
      // own check of the blob ends first, so the error is its DigestMismatch, not the unpacker's.
      yield* faults([{ path: blobPath(lower.digest), fault: Fault.corrupt(1024 + 100) }])
      const error = yield* Effect.flip(pull("verify/corrupt", "v1", ws.dest, replaceInto(ws, true)))
      expect(error._tag).toBe("DigestMismatch")
      expect(error).toMatchObject({ expected: lower.digest, subject: expect.stringContaining(lower.digest) })
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.effect("a layer declared one byte longer than its blob fails with SizeMismatch at the end of the blob", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      const image = withLayerField(buildImage({ layers: [lower, upper] }), 0, "size", lower.size + 1)
      yield* push("verify/long", "v1", image)
      const error = yield* Effect.flip(pull("verify/long", "v1", ws.dest, replaceInto(ws)))
      expect(error).toMatchObject({ _tag: "SizeMismatch", expected: lower.size + 1, actual: lower.size })
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.effect("a layer declared one byte shorter than its blob fails with SizeMismatch from Content-Length, unread", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      const image = withLayerField(buildImage({ layers: [lower, upper] }), 1, "size", upper.size - 1)
      yield* push("verify/short", "v1", image)
      const error = yield* Effect.flip(pull("verify/short", "v1", ws.dest, replaceInto(ws)))
      expect(error).toMatchObject({ _tag: "SizeMismatch", expected: upper.size - 1, actual: upper.size })
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.effect("a config diff_id that the uncompressed layer does not hash to fails with DiffIdMismatch naming the layer", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      const wrong = sha256("not the tar of the upper layer")
      const image = buildImage({
        layers: [lower, upper],
        config: { rootfs: { type: "layers", diff_ids: [lower.diffId, wrong] } }
      })
      yield* push("verify/diffid", "v1", image)
      const error = yield* Effect.flip(pull("verify/diffid", "v1", ws.dest, replaceInto(ws)))
      expect(error).toMatchObject({ _tag: "DiffIdMismatch", layer: 1, expected: wrong, actual: upper.diffId })
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.effect("a config with fewer diff_ids than layers fails with LayerCountMismatch before any layer is fetched", () =>
    Effect.gen(function*() {
      const { proxy } = yield* UnpackRegistry
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      const image = buildImage({ layers: [lower, upper], config: { rootfs: { type: "layers", diff_ids: [lower.diffId] } } })
      yield* push("verify/count", "v1", image)
      const mark = proxy.requests().length
      const error = yield* Effect.flip(pull("verify/count", "v1", ws.dest, replaceInto(ws, true)))
      expect(error).toMatchObject({ _tag: "LayerCountMismatch", layers: 2, diffIds: 1, digest: image.digest })
      expect(blobRequestsSince(proxy, mark)).toEqual([`/v2/verify/count/blobs/${image.config.digest}`])
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.effect("an unknown layer media type fails with UnsupportedLayerMediaType naming it, before any layer is fetched", () =>
    Effect.gen(function*() {
      const { proxy } = yield* UnpackRegistry
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      const mediaType = "application/vnd.example.layer.v1.tar+lz4"
      const image = withLayerField(buildImage({ layers: [lower, upper] }), 1, "mediaType", mediaType)
      yield* push("verify/mediatype", "v1", image)
      const mark = proxy.requests().length
      const error = yield* Effect.flip(pull("verify/mediatype", "v1", ws.dest, replaceInto(ws, true)))
      expect(error).toMatchObject({ _tag: "UnsupportedLayerMediaType", layer: 1, mediaType })
      expect(error.message).toContain(mediaType)
      expect(blobRequestsSince(proxy, mark)).toEqual([`/v2/verify/mediatype/blobs/${image.config.digest}`])
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.scoped("a connection reset in the middle of the layer applied from the wire fails with ConnectionError", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      yield* push("verify/cut", "v1", buildImage({ layers: [lower, upper] }))
      yield* faults([{ path: blobPath(lower.digest), fault: Fault.cut(3000) }])
      const error = yield* Effect.flip(pull("verify/cut", "v1", ws.dest, replaceInto(ws, true)))
      expect(error._tag).toBe("ConnectionError")
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.scoped("a connection reset in the middle of a layer downloaded ahead fails with ConnectionError", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      yield* push("verify/cut-ahead", "v1", buildImage({ layers: [lower, upper] }))
      // With the default concurrency layer 1 is spooled to temp while layer 0 is applied.
      yield* faults([{ path: blobPath(upper.digest), fault: Fault.cut(upper.size - 10) }])
      const error = yield* Effect.flip(pull("verify/cut-ahead", "v1", ws.dest, replaceInto(ws, true)))
      expect(error._tag).toBe("ConnectionError")
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.scoped("a layer response that ends before its Content-Length fails with ConnectionError", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      yield* push("verify/truncated-wire", "v1", buildImage({ layers: [lower, upper] }))
      yield* faults([{ path: blobPath(lower.digest), fault: Fault.truncate(2048) }])
      const error = yield* Effect.flip(pull("verify/truncated-wire", "v1", ws.dest, replaceInto(ws, true)))
      expect(error._tag).toBe("ConnectionError")
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.effect("a stored gzip layer cut in half (its digest and size matching) fails with DecompressionFailed", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [, upper] = yield* twoLayers
      const half = upper.bytes.subarray(0, Math.floor(upper.size / 2))
      const truncated: BuiltLayer = { ...upper, bytes: half, digest: sha256(half), size: half.length }
      yield* push("verify/truncated-gzip", "v1", buildImage({ layers: [truncated] }))
      const error = yield* Effect.flip(pull("verify/truncated-gzip", "v1", ws.dest, replaceInto(ws)))
      expect(error).toMatchObject({ _tag: "DecompressionFailed", layer: 0, compression: "gzip" })
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.effect("a stored tar layer cut inside a file body (its digest and size matching) fails with MalformedLayer", () =>
    Effect.gen(function*() {
      const { ws, before } = yield* occupiedWorkspace
      const [lower] = yield* twoLayers
      const cut = lower.bytes.subarray(0, 1024 + 1000)
      const truncated: BuiltLayer = { ...lower, bytes: cut, digest: sha256(cut), size: cut.length, diffId: sha256(cut) }
      yield* push("verify/truncated-tar", "v1", buildImage({ layers: [truncated] }))
      const error = yield* Effect.flip(pull("verify/truncated-tar", "v1", ws.dest, replaceInto(ws)))
      expect(error).toMatchObject({ _tag: "MalformedLayer", layer: 0, entry: "etc/data" })
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))

  it.effect("replace: true swaps an existing image for the new one only once the new tree is complete", () =>
    Effect.gen(function*() {
      const { ws } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      yield* push("verify/replace", "v1", buildImage({ layers: [lower, upper] }))
      // Read synchronously when layer 0 is applied: the old image must still be all there is at dest.
      const seenMidway: Array<string> = []
      yield* pull("verify/replace", "v1", ws.dest, {
        temp: ws.temp,
        unpack: {
          replace: true,
          onProgress: (event) => {
            if (event._tag === "LayerApplied" && event.layersDone === 1) {
              seenMidway.push(readFileSync(path.join(ws.dest, "etc", "release"), "utf8"))
            }
          }
        }
      })
      expect(seenMidway).toEqual(["the previous image\n"])
      expectTree(yield* Effect.promise(() => TreeSnapshot.take(ws.dest)), {
        etc: directory(),
        "etc/data": file(data),
        hello: file("hello from the upper layer\n")
      })
      expect(yield* Effect.promise(() => ws.leftovers())).toEqual([])
    }))

  it.effect("replace: false on an occupied dest fails with DestinationExists before any layer is fetched", () =>
    Effect.gen(function*() {
      const { proxy } = yield* UnpackRegistry
      const { ws, before } = yield* occupiedWorkspace
      const [lower, upper] = yield* twoLayers
      const image = buildImage({ layers: [lower, upper] })
      yield* push("verify/occupied", "v1", image)
      const mark = proxy.requests().length
      const error = yield* Effect.flip(pull("verify/occupied", "v1", ws.dest, { temp: ws.temp, viaProxy: true }))
      expect(error).toMatchObject({ _tag: "DestinationExists", path: ws.dest })
      expect(blobRequestsSince(proxy, mark)).toEqual([`/v2/verify/occupied/blobs/${image.config.digest}`])
      yield* Effect.promise(() => expectNoTrace(ws, before))
    }))
})
