// The layer changeset rules, end to end: images built with the fixture, pushed to the real registry,
// pulled with getImageInfo + unpackImage over plain HTTP, and the unpacked tree compared path by path
// (type, mode, owner, mtime, size, content, link target, hard-link group) with a tree written out here.
// The multi-layer image is also unpacked by umoci, the reference unpacker, when it is installed.
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import {
  buildImage,
  buildLayer,
  Entry,
  MediaTypes,
  type Compression,
  type Format,
  type LayerEntry
} from "../../registry-fixture/ImageBuilder.js"
import * as TreeSnapshot from "../../unit/unpacker/TreeSnapshot.js"
import { workspace } from "../../unit/unpacker/Workspace.js"
import { asRoot, directory, expectTree, file, seconds, symlink } from "./ExpectedTree.js"
import { expectNoTrace } from "./NoTrace.js"
import { pull, push, UnpackRegistry, unpackRegistry } from "./UnpackRegistry.js"

const run = promisify(execFile)

/** Builds the layers, pushes the image under `repository:v1`, pulls it into a fresh workspace. */
const pushAndPull = (
  repository: string,
  layers: ReadonlyArray<ReadonlyArray<LayerEntry>>,
  options: {
    readonly compression?: Compression | ReadonlyArray<Compression>
    readonly format?: Format
    readonly specialFiles?: "skip" | "fail"
  } = {}
) =>
  Effect.gen(function*() {
    const ws = yield* Effect.promise(workspace)
    const compressionOf = (i: number): Compression =>
      typeof options.compression === "string" ? options.compression : options.compression?.[i] ?? "gzip"
    const built = yield* Effect.forEach(layers, (entries, i) => buildLayer(entries, { compression: compressionOf(i) }))
    const image = buildImage({ layers: built, ...(options.format === undefined ? {} : { format: options.format }) })
    yield* push(repository, "v1", image)
    const unpack = options.specialFiles === undefined ? {} : { specialFiles: options.specialFiles }
    const result = yield* Effect.either(pull(repository, "v1", ws.dest, { temp: ws.temp, unpack }))
    return { ws, image, result }
  })

/** Like `pushAndPull`, failing the test when the pull fails, and giving the unpacked tree. */
const unpacked = (...args: Parameters<typeof pushAndPull>) =>
  Effect.gen(function*() {
    const { image, result, ws } = yield* pushAndPull(...args)
    const unpackResult = yield* result
    const tree = yield* Effect.promise(() => TreeSnapshot.take(ws.dest))
    return { image, tree, ws, result: unpackResult }
  })

const binary = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919 + (i >> 8)) % 251))

// ---------------------------------------------------------------------------------------------------
// The multi-layer image: whiteouts, an opaque directory, hard links within and across layers, symlinks
// replaced by directories, a hard link broken by an upper file. Every layer names the directories it
// touches, as image builders do, so directory mtimes are the ones the headers give.

const t1 = { mtime: new Date("2024-02-01T00:00:00Z") }
const t2 = { mtime: new Date("2024-03-01T00:00:00Z") }

const multiLayer: ReadonlyArray<ReadonlyArray<LayerEntry>> = [
  [
    Entry.directory("bin"),
    Entry.file("bin/busybox", "busybox v1\n", { mode: 0o755 }),
    Entry.hardlink("bin/sh", "bin/busybox"),
    Entry.hardlink("bin/ls", "/bin/busybox"),
    Entry.directory("etc"),
    Entry.file("etc/os-release", "ID=fixture\n"),
    Entry.file("etc/motd", "welcome\n"),
    Entry.symlink("etc/mtab", "/proc/mounts"),
    Entry.directory("usr"),
    Entry.directory("usr/lib"),
    Entry.file("usr/lib/libc.so.6", "libc v1\n", { mode: 0o755 }),
    Entry.symlink("usr/lib/libc.so", "libc.so.6"),
    Entry.symlink("lib", "usr/lib"),
    Entry.directory("var"),
    Entry.directory("var/cache"),
    Entry.file("var/cache/junk", "junk\n"),
    Entry.directory("var/cache/apt"),
    Entry.file("var/cache/apt/pkgcache.bin", binary)
  ],
  [
    Entry.directory("etc", t1),
    Entry.whiteout("etc/motd", t1),
    Entry.file("etc/hostname", "fixture\n", t1),
    Entry.directory("var", t1),
    Entry.whiteout("var/cache", t1),
    Entry.directory("usr", t1),
    Entry.directory("usr/lib", t1),
    Entry.file("usr/lib/libc.so.6", "libc v2\n", { ...t1, mode: 0o755 }),
    Entry.directory("bin", t1),
    Entry.file("bin/ls", "ls binary\n", { ...t1, mode: 0o755 }),
    Entry.directory("opt", t1),
    Entry.directory("opt/app", t1),
    Entry.file("opt/app/config", "config v1\n", t1),
    Entry.file("opt/app/data", "data v1\n", t1)
  ],
  [
    Entry.directory("opt", t2),
    Entry.directory("opt/app", t2),
    Entry.opaqueWhiteout("opt/app", t2),
    Entry.file("opt/app/config", "config v2\n", t2),
    Entry.directory("etc", t2),
    Entry.hardlink("etc/hostname.link", "etc/hostname", t2),
    Entry.directory("bin", t2),
    Entry.symlink("bin/busybox.link", "busybox", t2),
    Entry.directory("lib", t2),
    Entry.file("lib/modules", "modules\n", t2)
  ]
]

const m1 = seconds("2024-02-01T00:00:00Z")
const m2 = seconds("2024-03-01T00:00:00Z")

const multiLayerTree: TreeSnapshot.TreeSnapshot = {
  bin: directory({ mtime: m2 }),
  "bin/busybox": file("busybox v1\n", { mode: 0o755, linkGroup: "bin/busybox" }),
  "bin/busybox.link": symlink("busybox", { mtime: m2 }),
  "bin/ls": file("ls binary\n", { mode: 0o755, mtime: m1 }),
  "bin/sh": file("busybox v1\n", { mode: 0o755, linkGroup: "bin/busybox" }),
  etc: directory({ mtime: m2 }),
  "etc/hostname": file("fixture\n", { mtime: m1, linkGroup: "etc/hostname" }),
  "etc/hostname.link": file("fixture\n", { mtime: m1, linkGroup: "etc/hostname" }),
  "etc/mtab": symlink("/proc/mounts"),
  "etc/os-release": file("ID=fixture\n"),
  lib: directory({ mtime: m2 }),
  "lib/modules": file("modules\n", { mtime: m2 }),
  opt: directory({ mtime: m2 }),
  "opt/app": directory({ mtime: m2 }),
  "opt/app/config": file("config v2\n", { mtime: m2 }),
  usr: directory({ mtime: m1 }),
  "usr/lib": directory({ mtime: m1 }),
  "usr/lib/libc.so": symlink("libc.so.6"),
  "usr/lib/libc.so.6": file("libc v2\n", { mode: 0o755, mtime: m1 }),
  var: directory({ mtime: m1 })
}

const variants = [
  { label: "uncompressed tar", compression: "none", format: "oci", mediaType: MediaTypes.OciLayerTar },
  { label: "tar+gzip", compression: "gzip", format: "oci", mediaType: MediaTypes.OciLayerTarGzip },
  { label: "tar+zstd", compression: "zstd", format: "oci", mediaType: MediaTypes.OciLayerTarZstd },
  { label: "Docker tar.gzip", compression: "gzip", format: "docker", mediaType: MediaTypes.DockerLayerTarGzip }
] as const

const umoci = "/usr/bin/umoci"
const skopeo = "/usr/bin/skopeo"
const referenceToolsPresent = existsSync(umoci) && existsSync(skopeo)

layer(unpackRegistry, { timeout: "180 seconds", excludeTestServices: true })("the changeset rules, pulled from the real registry", (it) => {
  it.effect("files, directories and symlinks arrive with their contents, sizes, modes and link targets", () =>
    Effect.gen(function*() {
      const { tree } = yield* unpacked("rules/basic", [[
        Entry.directory("etc"),
        Entry.file("etc/hosts", "127.0.0.1 localhost\n"),
        Entry.file("etc/shadow", "root:*:19000::::::\n", { mode: 0o600 }),
        Entry.symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
        Entry.symlink("etc/hosts.link", "hosts"),
        Entry.symlink("etc/dangling", "../nowhere/at/all"),
        Entry.directory("usr"),
        Entry.directory("usr/bin"),
        Entry.file("usr/bin/tool", "#!/bin/sh\necho tool\n", { mode: 0o755 }),
        Entry.file("usr/bin/blob", binary),
        Entry.file("empty", ""),
        Entry.directory("srv")
      ]])
      expectTree(tree, {
        empty: file(""),
        etc: directory(),
        "etc/dangling": symlink("../nowhere/at/all"),
        "etc/hosts": file("127.0.0.1 localhost\n"),
        "etc/hosts.link": symlink("hosts"),
        "etc/localtime": symlink("/usr/share/zoneinfo/UTC"),
        "etc/shadow": file("root:*:19000::::::\n", { mode: 0o600 }),
        srv: directory(),
        usr: directory(),
        "usr/bin": directory(),
        "usr/bin/blob": file(binary),
        "usr/bin/tool": file("#!/bin/sh\necho tool\n", { mode: 0o755 })
      })
    }))

  it.effect("hard links share one inode within a layer and across layers, and an upper file breaks the link", () =>
    Effect.gen(function*() {
      const { tree } = yield* unpacked("rules/hardlinks", [
        [
          Entry.directory("bin"),
          Entry.file("bin/busybox", "busybox\n", { mode: 0o755 }),
          Entry.hardlink("bin/sh", "bin/busybox"),
          Entry.hardlink("bin/ls", "/bin/busybox"),
          Entry.hardlink("bin/cat", "./bin/busybox"),
          Entry.directory("data"),
          Entry.file("data/original", "shared\n")
        ],
        [
          Entry.directory("data"),
          Entry.hardlink("data/alias", "data/original"),
          Entry.directory("bin"),
          Entry.file("bin/cat", "cat of its own\n", { mode: 0o755 })
        ]
      ])
      expectTree(tree, {
        bin: directory(),
        "bin/busybox": file("busybox\n", { mode: 0o755, linkGroup: "bin/busybox" }),
        "bin/cat": file("cat of its own\n", { mode: 0o755 }),
        "bin/ls": file("busybox\n", { mode: 0o755, linkGroup: "bin/busybox" }),
        "bin/sh": file("busybox\n", { mode: 0o755, linkGroup: "bin/busybox" }),
        data: directory(),
        "data/alias": file("shared\n", { linkGroup: "data/alias" }),
        "data/original": file("shared\n", { linkGroup: "data/alias" })
      })
    }))

  it.effect("a whiteout deletes a lower file or a whole lower directory and is never written itself", () =>
    Effect.gen(function*() {
      const { tree } = yield* unpacked("rules/whiteout", [
        [
          Entry.directory("etc"),
          Entry.file("etc/motd", "hello\n"),
          Entry.file("etc/issue", "fixture\n"),
          Entry.directory("var"),
          Entry.directory("var/cache"),
          Entry.file("var/cache/a", "a"),
          Entry.directory("var/cache/sub"),
          Entry.file("var/cache/sub/b", "b")
        ],
        [
          Entry.directory("etc"),
          Entry.whiteout("etc/motd"),
          Entry.whiteout("etc/never-existed"),
          Entry.directory("var"),
          Entry.whiteout("var/cache")
        ]
      ])
      expectTree(tree, { etc: directory(), "etc/issue": file("fixture\n"), var: directory() })
    }))

  it.effect("a whiteout spares the entries of its own layer, before it or after it", () =>
    Effect.gen(function*() {
      const { tree } = yield* unpacked("rules/whiteout-same-layer", [
        [Entry.directory("d"), Entry.file("d/kept", "lower kept\n"), Entry.file("d/recreated", "lower\n")],
        [
          Entry.directory("d"),
          Entry.file("d/kept", "upper kept\n"),
          Entry.whiteout("d/kept"),
          Entry.whiteout("d/recreated"),
          Entry.file("d/recreated", "upper\n"),
          Entry.file("d/new", "new\n"),
          Entry.whiteout("d/new")
        ]
      ])
      expectTree(tree, {
        d: directory(),
        "d/kept": file("upper kept\n"),
        "d/new": file("new\n"),
        "d/recreated": file("upper\n")
      })
    }))

  it.effect("an opaque whiteout hides what lower layers put in its directory and keeps the same layer's entries", () =>
    Effect.gen(function*() {
      const { tree } = yield* unpacked("rules/opaque", [
        [
          Entry.directory("opq"),
          Entry.file("opq/lower", "lower\n"),
          Entry.directory("opq/sub"),
          Entry.file("opq/sub/lower", "lower too\n"),
          Entry.directory("other"),
          Entry.file("other/untouched", "untouched\n")
        ],
        [
          Entry.directory("opq"),
          Entry.file("opq/early", "before the marker\n"),
          Entry.directory("opq/sub"),
          Entry.opaqueWhiteout("opq"),
          Entry.file("opq/sub/new", "new\n"),
          Entry.file("opq/late", "after the marker\n")
        ]
      ])
      expectTree(tree, {
        opq: directory(),
        "opq/early": file("before the marker\n"),
        "opq/late": file("after the marker\n"),
        "opq/sub": directory(),
        "opq/sub/new": file("new\n"),
        other: directory(),
        "other/untouched": file("untouched\n")
      })
    }))

  it.effect("a file replaces a lower directory, a directory a lower file, and symlinks and directories each other", () =>
    Effect.gen(function*() {
      const { tree } = yield* unpacked("rules/replace", [
        [
          Entry.file("a", "a is a file\n"),
          Entry.directory("b"),
          Entry.file("b/child", "child\n"),
          Entry.directory("c"),
          Entry.file("c/inside", "inside c\n"),
          Entry.symlink("l", "b")
        ],
        [
          Entry.directory("a"),
          Entry.file("a/inside", "a is a directory\n"),
          Entry.file("b", "b is a file\n"),
          Entry.symlink("c", "a"),
          Entry.directory("l"),
          Entry.file("l/f", "l is a directory\n")
        ]
      ])
      expectTree(tree, {
        a: directory(),
        "a/inside": file("a is a directory\n"),
        b: file("b is a file\n"),
        c: symlink("a"),
        l: directory(),
        "l/f": file("l is a directory\n")
      })
    }))

  it.effect("modes keep setuid, setgid and sticky bits, read-only files and read-only directories", () =>
    Effect.gen(function*() {
      const { tree } = yield* unpacked("rules/modes", [[
        Entry.directory("bin"),
        Entry.file("bin/su", "setuid\n", { mode: 0o4755 }),
        Entry.file("bin/wall", "setgid\n", { mode: 0o2755 }),
        Entry.file("bin/private", "owner only\n", { mode: 0o700 }),
        Entry.file("bin/readonly", "read only\n", { mode: 0o444 }),
        Entry.directory("tmp", { mode: 0o1777 }),
        Entry.file("tmp/scratch", "scratch\n", { mode: 0o666 }),
        Entry.directory("shared", { mode: 0o2775 }),
        Entry.directory("ro", { mode: 0o555 }),
        Entry.file("ro/key", "key\n", { mode: 0o400 })
      ]])
      expectTree(tree, {
        bin: directory(),
        "bin/private": file("owner only\n", { mode: 0o700 }),
        "bin/readonly": file("read only\n", { mode: 0o444 }),
        "bin/su": file("setuid\n", { mode: 0o4755 }),
        "bin/wall": file("setgid\n", { mode: 0o2755 }),
        ro: directory({ mode: 0o555 }),
        "ro/key": file("key\n", { mode: 0o400 }),
        shared: directory({ mode: 0o2775 }),
        tmp: directory({ mode: 0o1777 }),
        "tmp/scratch": file("scratch\n", { mode: 0o666 })
      })
    }))

  it.effect("mtimes of files, directories and symlinks follow the headers, PAX sub-second mtimes included", () =>
    Effect.gen(function*() {
      const at = (iso: string) => ({ mtime: new Date(iso) })
      const { tree } = yield* unpacked("rules/mtimes", [
        [
          Entry.directory("d", at("2010-05-05T05:05:05Z")),
          Entry.file("d/f", "f\n", at("2011-01-01T00:00:00Z")),
          Entry.file("old", "old\n", at("1999-12-31T23:59:59Z")),
          Entry.symlink("link", "old", at("2012-02-02T02:02:02Z")),
          Entry.file("precise", "precise\n", { pax: { mtime: "1700000000.25" } }),
          Entry.directory("later", at("2015-01-01T00:00:00Z")),
          Entry.file("later/lower", "lower\n", at("2015-01-01T00:00:00Z"))
        ],
        [
          Entry.directory("later", at("2016-06-06T06:06:06Z")),
          Entry.file("later/upper", "upper\n", at("2016-06-06T06:06:06Z"))
        ]
      ])
      expectTree(tree, {
        d: directory({ mtime: seconds("2010-05-05T05:05:05Z") }),
        "d/f": file("f\n", { mtime: seconds("2011-01-01T00:00:00Z") }),
        later: directory({ mtime: seconds("2016-06-06T06:06:06Z") }),
        "later/lower": file("lower\n", { mtime: seconds("2015-01-01T00:00:00Z") }),
        "later/upper": file("upper\n", { mtime: seconds("2016-06-06T06:06:06Z") }),
        link: symlink("old", { mtime: seconds("2012-02-02T02:02:02Z") }),
        old: file("old\n", { mtime: seconds("1999-12-31T23:59:59Z") }),
        precise: file("precise\n", { mtime: 1700000000.25 })
      })
    }))

  it.effect.skipIf(!asRoot)(
    "ownership follows the headers, PAX ids above the ustar range included (needs root: skipped otherwise, as only root can give files away)",
    () =>
      Effect.gen(function*() {
        const { tree } = yield* unpacked("rules/owners", [[
          Entry.directory("home", { uid: 0, gid: 0 }),
          Entry.directory("home/user", { uid: 1000, gid: 1000, mode: 0o700 }),
          Entry.file("home/user/notes", "notes\n", { uid: 1000, gid: 100 }),
          Entry.file("home/user/suid", "setuid of user\n", { uid: 1000, gid: 1000, mode: 0o4755 }),
          Entry.symlink("home/user/link", "notes", { uid: 7, gid: 8 }),
          Entry.file("home/big-ids", "big ids\n", { pax: { uid: "3000000", gid: "3000001" } })
        ]])
        expect(tree).toEqual({
          home: directory(),
          "home/big-ids": file("big ids\n", { uid: 3000000, gid: 3000001 }),
          "home/user": directory({ uid: 1000, gid: 1000, mode: 0o700 }),
          "home/user/link": symlink("notes", { uid: 7, gid: 8 }),
          "home/user/notes": file("notes\n", { uid: 1000, gid: 100 }),
          "home/user/suid": file("setuid of user\n", { uid: 1000, gid: 1000, mode: 0o4755 })
        })
      })
  )

  it.effect("long names and long link targets arrive whole from PAX records, GNU L/K records and the ustar prefix", () =>
    Effect.gen(function*() {
      const paxName = `long/${"p".repeat(150)}`
      const gnuName = `long/${"g".repeat(150)}`
      const prefixDir = `long/${"a".repeat(90)}`
      const paxTarget = `/${"t".repeat(150)}`
      const gnuTarget = `/${"u".repeat(150)}`
      const gnuHardLink = `long/${"h".repeat(140)}`
      const { tree } = yield* unpacked("rules/long-names", [[
        Entry.directory("long"),
        Entry.file(paxName, "pax name\n", { longName: "pax" }),
        Entry.file(gnuName, "gnu name\n", { longName: "gnu" }),
        Entry.directory(prefixDir),
        Entry.file(`${prefixDir}/${"b".repeat(90)}`, "ustar prefix\n"),
        Entry.symlink("long/pax-link", paxTarget, { longName: "pax" }),
        Entry.symlink("long/gnu-link", gnuTarget, { longName: "gnu" }),
        Entry.hardlink(gnuHardLink, gnuName, { longName: "gnu" })
      ]])
      expectTree(tree, {
        long: directory(),
        [prefixDir]: directory(),
        [`${prefixDir}/${"b".repeat(90)}`]: file("ustar prefix\n"),
        [gnuName]: file("gnu name\n", { linkGroup: gnuName }),
        "long/gnu-link": symlink(gnuTarget),
        [gnuHardLink]: file("gnu name\n", { linkGroup: gnuName }),
        [paxName]: file("pax name\n"),
        "long/pax-link": symlink(paxTarget)
      })
    }))

  it.effect("a fifo and device nodes are skipped by default, counted, and the rest of the layer applied", () =>
    Effect.gen(function*() {
      const { result, tree } = yield* unpacked("rules/special-skip", [[
        Entry.directory("dev"),
        Entry.charDevice("dev/null", 1, 3),
        Entry.blockDevice("dev/sda", 8, 0),
        Entry.directory("run"),
        Entry.fifo("run/initctl"),
        Entry.file("run/regular", "regular\n")
      ]])
      expectTree(tree, { dev: directory(), run: directory(), "run/regular": file("regular\n") })
      expect(result.layers.map((l) => l.specialFilesSkipped)).toEqual([2 + 1])
    }))

  it.effect("with specialFiles: fail a fifo fails the pull with SpecialFileRefused naming it, and leaves no trace", () =>
    Effect.gen(function*() {
      const { result, ws } = yield* pushAndPull("rules/special-fail", [
        [Entry.directory("etc"), Entry.file("etc/ok", "ok\n")],
        [Entry.directory("run"), Entry.file("run/before", "before\n"), Entry.fifo("run/initctl")]
      ], { specialFiles: "fail" })
      expect(yield* Effect.flip(result)).toMatchObject({
        _tag: "SpecialFileRefused",
        layer: 1,
        entry: "run/initctl",
        type: "fifo"
      })
      yield* Effect.promise(() => expectNoTrace(ws))
    }))

  for (const variant of variants) {
    it.effect(`the multi-layer image unpacks to its tree from ${variant.label} layers`, () =>
      Effect.gen(function*() {
        const { image, tree } = yield* unpacked(`rules/multi-${variant.compression}-${variant.format}`, multiLayer, {
          compression: variant.compression,
          format: variant.format
        })
        expect(image.layers.map((l) => l.mediaType)).toEqual([variant.mediaType, variant.mediaType, variant.mediaType])
        expectTree(tree, multiLayerTree)
      }))
  }

  it.effect("the multi-layer image unpacks to its tree from layers of three different compressions", () =>
    Effect.gen(function*() {
      const { tree } = yield* unpacked("rules/multi-mixed", multiLayer, { compression: ["zstd", "none", "gzip"] })
      expectTree(tree, multiLayerTree)
    }))

  it.effect.skipIf(!referenceToolsPresent)(
    `umoci, the reference unpacker, agrees on the multi-layer image (needs ${umoci} and ${skopeo}: skipped when absent, as in CI)`,
    () =>
      Effect.gen(function*() {
        const { registry } = yield* UnpackRegistry
        const { tree, ws } = yield* unpacked("rules/umoci", multiLayer, { compression: "gzip" })
        const layout = path.join(ws.dir, "oci-layout")
        const rootfs = path.join(ws.dir, "umoci-rootfs")
        yield* Effect.promise(async () => {
          await run(skopeo, [
            "copy",
            "--insecure-policy",
            "--src-tls-verify=false",
            `docker://${registry.host}/rules/umoci:v1`,
            `oci:${layout}:v1`
          ])
          await run(umoci, ["raw", "unpack", "--rootless", "--image", `${layout}:v1`, rootfs])
        })
        const reference = yield* Effect.promise(() => TreeSnapshot.take(rootfs))
        expect(reference).toEqual(tree)
      })
  )
})
