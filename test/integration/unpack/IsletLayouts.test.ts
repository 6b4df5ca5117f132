// The islet project's OCI image layouts (one correct, six broken), pushed to the real registry with the
// fixture's pushOciLayout and pulled by the client. The layouts are read where they live, next to this
// repository; when they are absent every test is skipped and the suite's name says so.
// What a client can see of each breakage depends on what the registry lets through: a layout missing a
// blob or its manifest never becomes a pullable image, and a manifest whose bytes do not match the
// digest index.json gives it is stored under its true digest. Each test says which failure it shows.
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Fault } from "../../registry-fixture/FaultProxy.js"
import { pushOciLayout } from "../../registry-fixture/Push.js"
import * as TreeSnapshot from "../../unit/unpacker/TreeSnapshot.js"
import { workspace } from "../../unit/unpacker/Workspace.js"
import { directory, expectTree, file } from "./ExpectedTree.js"
import { expectNoTrace } from "./NoTrace.js"
import { faults, pull, UnpackRegistry, unpackRegistry } from "./UnpackRegistry.js"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const layoutsRoot = path.resolve(repoRoot, "../shared/testdata/islet/oci-layouts")
const layoutsPresent = existsSync(layoutsRoot)

/** What index.json of every layout says the manifest is: the digest of the correct layout's manifest. */
const claimedDigest = "sha256:2a0b6a18e2af9e8fb0a3f29bcb9221502b5f268eb13df657047918dc9fbc7611"
const claimedSize = 944

/** Pushes layout `name` to the repository `islet/<name>`, its manifest tagged `stable` (its ref.name). */
const pushLayout = (name: string) =>
  Effect.flatMap(UnpackRegistry, ({ registry }) => pushOciLayout(registry, `islet/${name}`, path.join(layoutsRoot, name)))

const manifestByTag = (name: string) => new RegExp(`/v2/islet/${name}/manifests/stable$`)

// The three layers of `correct`, as `tar -tzvf --numeric-owner --full-time` lists them: each adds an empty
// file and a directory, 0664 and 0775, owned by 1001:1001.
const owned = { uid: 1001, gid: 1001 }
const correctTree: TreeSnapshot.TreeSnapshot = {
  bin: directory({ ...owned, mode: 0o775, mtime: Date.parse("2024-07-19T11:40:46Z") / 1000 }),
  layer1: file("", { ...owned, mode: 0o664, mtime: Date.parse("2024-07-19T11:40:35Z") / 1000 }),
  layer2: file("", { ...owned, mode: 0o664, mtime: Date.parse("2024-07-19T11:40:38Z") / 1000 }),
  layer3: file("", { ...owned, mode: 0o664, mtime: Date.parse("2024-07-19T11:40:38Z") / 1000 }),
  lib: directory({ ...owned, mode: 0o775, mtime: Date.parse("2024-07-19T11:40:51Z") / 1000 }),
  usr: directory({ ...owned, mode: 0o775, mtime: Date.parse("2024-07-19T11:40:48Z") / 1000 })
}

const suite = layoutsPresent
  ? `the islet OCI layouts in ${layoutsRoot}, pushed to and pulled from the real registry`
  : `the islet OCI layouts: SKIPPED, ${layoutsRoot} is absent`

layer(unpackRegistry, { timeout: "120 seconds", excludeTestServices: true })(suite, (it) => {
  const test = it.effect.skipIf(!layoutsPresent)

  test("correct: every blob and the manifest are accepted, and the image unpacks to its three layers", () =>
    Effect.gen(function*() {
      const ws = yield* Effect.promise(workspace)
      const report = yield* pushLayout("correct")
      expect(report.failed).toEqual([])
      expect(report.pushed.find((p) => p.kind === "manifest")).toMatchObject({ digest: claimedDigest })
      const result = yield* pull("islet/correct", "stable", ws.dest, { temp: ws.temp })
      expect(result.layers.map((l) => l.entries)).toEqual([2, 2, 2])
      expectTree(yield* Effect.promise(() => TreeSnapshot.take(ws.dest)), correctTree)
    }))

  test("correct, served with the digest its index.json claims as Docker-Content-Digest, unpacks (the control)", () =>
    Effect.scoped(Effect.gen(function*() {
      const ws = yield* Effect.promise(workspace)
      yield* pushLayout("correct")
      yield* faults([{ path: manifestByTag("correct"), fault: Fault.header("Docker-Content-Digest", claimedDigest) }])
      yield* pull("islet/correct", "stable", ws.dest, { temp: ws.temp, viaProxy: true })
      expectTree(yield* Effect.promise(() => TreeSnapshot.take(ws.dest)), correctTree)
    })))

  for (const [name, missing] of [["missing_blob", "a layer"], ["missing_config", "the config"]] as const) {
    test(`${name}: the registry refuses a manifest naming ${missing} it lacks, so the client sees MANIFEST_UNKNOWN`, () =>
      Effect.gen(function*() {
        const ws = yield* Effect.promise(workspace)
        const report = yield* pushLayout(name)
        const refused = report.failed.find((f) => f.kind === "manifest")
        expect(refused?.reason).toContain("MANIFEST_BLOB_UNKNOWN")
        const error = yield* Effect.flip(pull(`islet/${name}`, "stable", ws.dest, { temp: ws.temp }))
        expect(error).toMatchObject({ _tag: "RegistryError", status: 404, code: "MANIFEST_UNKNOWN" })
        yield* Effect.promise(() => expectNoTrace(ws))
      }))
  }

  for (const [name, missing] of [["missing_index", "index.json"], ["missing_manifest", "the manifest blob"]] as const) {
    test(`${name}: without ${missing} nothing is pushed, so the client sees MANIFEST_UNKNOWN`, () =>
      Effect.gen(function*() {
        const ws = yield* Effect.promise(workspace)
        const report = yield* pushLayout(name)
        expect(report.pushed).toEqual([])
        expect(report.failed.length).toBe(1)
        const error = yield* Effect.flip(pull(`islet/${name}`, "stable", ws.dest, { temp: ws.temp }))
        expect(error).toMatchObject({ _tag: "RegistryError", status: 404, code: "MANIFEST_UNKNOWN" })
        yield* Effect.promise(() => expectNoTrace(ws))
      }))
  }

  for (const [name, trueDigest] of [
    ["wrong_manifest_digest", "sha256:652a1dddd1e150dbbb8695db5863bb74010c6cc402aa76a4c15479c161afd452"],
    ["wrong_manifest_size", "sha256:1c5180c65291d511431c7d52ced578a58aecf33aa35de11a68fc938a4ef94548"]
  ] as const) {
    test(`${name}: the registry stores the manifest under its true digest, not the one index.json claims`, () =>
      Effect.gen(function*() {
        const ws = yield* Effect.promise(workspace)
        const report = yield* pushLayout(name)
        expect(report.failed).toEqual([])
        expect(report.pushed.find((p) => p.kind === "manifest")).toMatchObject({
          digest: trueDigest,
          expectedDigest: claimedDigest
        })
        const error = yield* Effect.flip(pull(`islet/${name}`, claimedDigest, ws.dest, { temp: ws.temp }))
        expect(error).toMatchObject({ _tag: "RegistryError", status: 404, code: "MANIFEST_UNKNOWN" })
        yield* Effect.promise(() => expectNoTrace(ws))
      }))

    test(`${name}: served as the digest index.json claims, the manifest fails with DigestMismatch and nothing is unpacked`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { proxy } = yield* UnpackRegistry
        const ws = yield* Effect.promise(workspace)
        yield* pushLayout(name)
        yield* faults([{ path: manifestByTag(name), fault: Fault.header("Docker-Content-Digest", claimedDigest) }])
        const mark = proxy.requests().length
        const error = yield* Effect.flip(pull(`islet/${name}`, "stable", ws.dest, { temp: ws.temp, viaProxy: true }))
        expect(error).toMatchObject({ _tag: "DigestMismatch", expected: claimedDigest, actual: trueDigest })
        expect(proxy.requests().slice(mark).map((r) => r.path)).toEqual([`/v2/islet/${name}/manifests/stable`])
        yield* Effect.promise(() => expectNoTrace(ws))
      })))
  }

  test("wrong_manifest_size: served with the Content-Length index.json claims, the short manifest response fails with ConnectionError", () =>
    Effect.scoped(Effect.gen(function*() {
      const ws = yield* Effect.promise(workspace)
      yield* pushLayout("wrong_manifest_size")
      // The manifest is 942 bytes; announcing 944 leaves the client waiting for bytes that never come
      // before the proxy closes the connection.
      yield* faults([{
        path: manifestByTag("wrong_manifest_size"),
        fault: Fault.header("Content-Length", String(claimedSize))
      }])
      const error = yield* Effect.flip(pull("islet/wrong_manifest_size", "stable", ws.dest, { temp: ws.temp, viaProxy: true }))
      expect(error._tag).toBe("ConnectionError")
      yield* Effect.promise(() => expectNoTrace(ws))
    })))
})
