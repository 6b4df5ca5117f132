// The changeset rules: what tree a sequence of layers produces, checked path by path on disk.
import { Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as MediaType from "../../../src/domain/MediaType.js"
import * as Fixture from "./LayerFixture.js"
import * as TreeSnapshot from "./TreeSnapshot.js"
import { outcomeTag, unpackEither, unpackOk, workspace } from "./Workspace.js"

const asRoot = process.getuid?.() === 0
const seconds = (d: Date) => d.getTime() / 1000

describe("Unpacker conformance", () => {
  it("writes files, directories and symlinks with their contents, modes and link targets", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([
      { name: "etc/", type: "directory", mode: 0o755 },
      { name: "etc/hosts", content: "127.0.0.1 localhost\n", mode: 0o644 },
      { name: "etc/shadow", content: "root:*:\n", mode: 0o600 },
      { name: "etc/localtime", type: "symlink", linkname: "/usr/share/zoneinfo/UTC" },
      { name: "etc/hosts.link", type: "symlink", linkname: "hosts" },
      { name: "usr/bin/tool", content: "#!/bin/sh\n", mode: 0o755 }
    ])
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(TreeSnapshot.shape(tree)).toEqual({
      etc: "directory",
      "etc/hosts": "file",
      "etc/hosts.link": "symlink",
      "etc/localtime": "symlink",
      "etc/shadow": "file",
      usr: "directory",
      "usr/bin": "directory",
      "usr/bin/tool": "file"
    })
    expect(tree["etc/hosts"]).toMatchObject({ text: "127.0.0.1 localhost\n", size: 20, mode: 0o644 })
    expect(tree["etc/shadow"]).toMatchObject({ text: "root:*:\n", mode: 0o600 })
    expect(tree["usr/bin/tool"]).toMatchObject({ text: "#!/bin/sh\n", mode: 0o755 })
    expect(tree["etc/localtime"]).toMatchObject({ target: "/usr/share/zoneinfo/UTC" })
    expect(tree["etc/hosts.link"]).toMatchObject({ target: "hosts" })
    expect((await fs.stat(ws.dest)).mode & 0o7777).toBe(0o755)
  })

  it("makes a hard-link group share one inode", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([
      { name: "bin/busybox", content: "busybox binary", mode: 0o755 },
      { name: "bin/sh", type: "link", linkname: "bin/busybox" },
      { name: "bin/ls", type: "link", linkname: "/bin/busybox" },
      { name: "bin/other", content: "other" }
    ])
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    for (const name of ["bin/busybox", "bin/sh", "bin/ls"]) {
      expect(tree[name]).toMatchObject({ type: "file", text: "busybox binary", linkGroup: "bin/busybox" })
    }
    expect(tree["bin/other"]).toMatchObject({ linkGroup: undefined })
    expect((await fs.stat(path.join(ws.dest, "bin/sh"))).nlink).toBe(3)
  })

  it("a hard link may point to a file of a lower layer", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([{ name: "data/original", content: "shared" }])
    const upper = await Fixture.layerOf([{ name: "data/alias", type: "link", linkname: "data/original" }])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["data/alias"]).toMatchObject({ text: "shared", linkGroup: "data/alias" })
    expect(tree["data/original"]).toMatchObject({ text: "shared", linkGroup: "data/alias" })
  })

  it("a whiteout deletes the file a lower layer wrote and is not written itself", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([
      { name: "etc/motd", content: "hello" },
      { name: "etc/issue", content: "debian" }
    ])
    const upper = await Fixture.layerOf([{ name: "etc/.wh.motd" }])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    expect(TreeSnapshot.shape(await TreeSnapshot.take(ws.dest))).toEqual({ etc: "directory", "etc/issue": "file" })
  })

  it("a whiteout deletes a whole directory of a lower layer", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([
      { name: "var/cache/apt/pkgcache.bin", content: "cache" },
      { name: "var/cache/apt/archives/partial/", type: "directory" },
      { name: "var/log/dpkg.log", content: "log" }
    ])
    const upper = await Fixture.layerOf([{ name: "var/cache/.wh.apt" }])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    expect(TreeSnapshot.shape(await TreeSnapshot.take(ws.dest))).toEqual({
      var: "directory",
      "var/cache": "directory",
      "var/log": "directory",
      "var/log/dpkg.log": "file"
    })
  })

  it("a whiteout of a name that no lower layer has changes nothing", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([{ name: "a", content: "a" }, { name: "missing/dir/.wh.ghost" }])
    await unpackOk({ layers: [image], dest: ws.dest })
    expect(TreeSnapshot.shape(await TreeSnapshot.take(ws.dest))).toEqual({ a: "file" })
  })

  it("an opaque whiteout hides what lower layers put in the directory and keeps the layer's own entries", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([
      { name: "app/old.txt", content: "old" },
      { name: "app/lib/old.so", content: "old lib" },
      { name: "app/keep/lower.txt", content: "lower in kept dir" },
      { name: "other/untouched", content: "stays" }
    ])
    const upper = await Fixture.layerOf([
      { name: "app/", type: "directory" },
      { name: "app/before.txt", content: "written before the marker" },
      { name: "app/keep/upper.txt", content: "upper in kept dir" },
      { name: "app/.wh..wh..opq" },
      { name: "app/after.txt", content: "written after the marker" }
    ])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(TreeSnapshot.shape(tree)).toEqual({
      app: "directory",
      "app/after.txt": "file",
      "app/before.txt": "file",
      "app/keep": "directory",
      "app/keep/upper.txt": "file",
      other: "directory",
      "other/untouched": "file"
    })
    expect(tree["app/before.txt"]).toMatchObject({ text: "written before the marker" })
  })

  it("a file replaces a directory of a lower layer, and a directory replaces a file", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([
      { name: "was-dir/child", content: "child" },
      { name: "was-dir/sub/grandchild", content: "grandchild" },
      { name: "was-file", content: "plain file" }
    ])
    const upper = await Fixture.layerOf([
      { name: "was-dir", content: "now a file" },
      { name: "was-file/", type: "directory", mode: 0o750 },
      { name: "was-file/inside", content: "inside" }
    ])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(TreeSnapshot.shape(tree)).toEqual({ "was-dir": "file", "was-file": "directory", "was-file/inside": "file" })
    expect(tree["was-dir"]).toMatchObject({ text: "now a file" })
    expect(tree["was-file"]).toMatchObject({ mode: 0o750 })
  })

  it("a symlink replaces a directory without the symlink being followed", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([{ name: "lib/libc.so", content: "libc" }])
    const upper = await Fixture.layerOf([{ name: "lib", type: "symlink", linkname: "usr/lib" }])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    expect(await TreeSnapshot.take(ws.dest)).toMatchObject({ lib: { type: "symlink", target: "usr/lib" } })
    expect(Object.keys(await TreeSnapshot.take(ws.dest))).toEqual(["lib"])
  })

  it("a directory over a directory merges the contents and takes the new metadata", async () => {
    const ws = await workspace()
    const newer = new Date("2023-03-03T03:03:03Z")
    const lower = await Fixture.layerOf([
      { name: "srv/", type: "directory", mode: 0o700 },
      { name: "srv/lower", content: "lower" }
    ])
    const upper = await Fixture.layerOf([
      { name: "srv/", type: "directory", mode: 0o755, mtime: newer },
      { name: "srv/upper", content: "upper" }
    ])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(TreeSnapshot.shape(tree)).toEqual({ srv: "directory", "srv/lower": "file", "srv/upper": "file" })
    expect(tree["srv"]).toMatchObject({ mode: 0o755, mtime: seconds(newer) })
  })

  it("a later entry of the same layer replaces an earlier one, and a later layer's file the lower one", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([{ name: "config", content: "lower" }])
    const upper = await Fixture.layerOf([
      { name: "config", content: "first upper" },
      { name: "config", content: "second upper" }
    ])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    expect((await TreeSnapshot.take(ws.dest))["config"]).toMatchObject({ text: "second upper" })
  })

  it("a file overwritten in an upper layer does not change the other names of its lower hard-link group", async () => {
    const ws = await workspace()
    const lower = await Fixture.layerOf([
      { name: "a", content: "shared" },
      { name: "b", type: "link", linkname: "a" }
    ])
    const upper = await Fixture.layerOf([{ name: "a", content: "replaced" }])
    await unpackOk({ layers: [lower, upper], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["a"]).toMatchObject({ text: "replaced", linkGroup: undefined })
    expect(tree["b"]).toMatchObject({ text: "shared", linkGroup: undefined })
  })

  it("keeps setuid, setgid and sticky bits", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([
      { name: "usr/bin/passwd", content: "suid", mode: 0o4755 },
      { name: "usr/bin/wall", content: "sgid", mode: 0o2755 },
      { name: "srv/shared/", type: "directory", mode: 0o2775 },
      { name: "tmp/", type: "directory", mode: 0o1777 },
      { name: "tmp/scratch", content: "x", mode: 0o666 }
    ])
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["usr/bin/passwd"]?.mode).toBe(0o4755)
    expect(tree["usr/bin/wall"]?.mode).toBe(0o2755)
    expect(tree["srv/shared"]?.mode).toBe(0o2775)
    expect(tree["tmp"]?.mode).toBe(0o1777)
    expect(tree["tmp/scratch"]?.mode).toBe(0o666)
  })

  it.skipIf(!asRoot)("gives files, directories and symlinks the owner of their header when running as root", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([
      { name: "home/user/", type: "directory", uid: 1000, gid: 1000 },
      { name: "home/user/.profile", content: "x", uid: 1000, gid: 100 },
      { name: "home/user/link", type: "symlink", linkname: ".profile", uid: 1001, gid: 1002 },
      { name: "usr/bin/suid", content: "x", mode: 0o4755, uid: 0, gid: 50 }
    ])
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["home/user"]).toMatchObject({ uid: 1000, gid: 1000 })
    expect(tree["home/user/.profile"]).toMatchObject({ uid: 1000, gid: 100 })
    expect(tree["home/user/link"]).toMatchObject({ uid: 1001, gid: 1002 })
    expect(tree["usr/bin/suid"]).toMatchObject({ uid: 0, gid: 50, mode: 0o4755 })
  })

  it("sets the mtimes of files, symlinks and directories, including directories written into afterwards", async () => {
    const ws = await workspace()
    const dirTime = new Date("2019-01-02T03:04:05Z")
    const fileTime = new Date("2020-05-06T07:08:09Z")
    const linkTime = new Date("2018-10-11T12:13:14Z")
    const image = await Fixture.layerOf([
      { name: "opt/", type: "directory", mtime: dirTime },
      { name: "opt/file", content: "x", mtime: fileTime },
      { name: "opt/link", type: "symlink", linkname: "file", mtime: linkTime },
      { name: "opt/sub/late", content: "written after opt/ was" }
    ])
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["opt"]?.mtime).toBe(seconds(dirTime))
    expect(tree["opt/file"]?.mtime).toBe(seconds(fileTime))
    expect(tree["opt/link"]?.mtime).toBe(seconds(linkTime))
  })

  it("takes sub-second mtimes from PAX records", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([{ name: "precise", content: "x", pax: { mtime: "1600000000.5" } }])
    await unpackOk({ layers: [image], dest: ws.dest })
    expect((await TreeSnapshot.take(ws.dest))["precise"]?.mtime).toBe(1600000000.5)
  })

  it("the root entry ./ sets the mode of the image root", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([{ name: "./", type: "directory", mode: 0o750 }, { name: "./a", content: "a" }])
    await unpackOk({ layers: [image], dest: ws.dest })
    expect((await fs.stat(ws.dest)).mode & 0o7777).toBe(0o750)
    expect(Object.keys(await TreeSnapshot.take(ws.dest))).toEqual(["a"])
  })

  it("reads long names and long link targets from PAX records", async () => {
    const ws = await workspace()
    const longDir = `${"d".repeat(120)}/${"e".repeat(120)}`
    const longName = `${longDir}/${"f".repeat(150)}.txt`
    const longTarget = `${"t".repeat(130)}/target`
    const image = await Fixture.layerOf([
      { name: longName, content: "pax long name" },
      { name: "short-link", type: "symlink", linkname: longTarget }
    ])
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree[longName]).toMatchObject({ type: "file", text: "pax long name" })
    expect(tree["short-link"]).toMatchObject({ target: longTarget })
  })

  it("reads long names and long link targets from GNU L and K records", async () => {
    const ws = await workspace()
    const longName = `gnu/${"g".repeat(200)}/${"h".repeat(180)}`
    const longTarget = `../${"k".repeat(150)}`
    const image = await Fixture.layerOf([
      { name: longName, content: "gnu long name", gnuLongNames: true },
      { name: `gnu/${"l".repeat(140)}`, type: "symlink", linkname: longTarget, gnuLongNames: true }
    ])
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree[longName]).toMatchObject({ type: "file", text: "gnu long name" })
    expect(tree[`gnu/${"l".repeat(140)}`]).toMatchObject({ type: "symlink", target: longTarget })
  })

  it("skips a fifo and device nodes by default and fails on them with specialFiles: fail", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([
      { name: "run/initctl", type: "fifo" },
      { name: "dev/null", type: "character-device" },
      { name: "run/ok", content: "ok" }
    ])
    const skipped = await unpackOk({ layers: [image], dest: ws.dest })
    expect(TreeSnapshot.shape(await TreeSnapshot.take(ws.dest))).toEqual({ run: "directory", "run/ok": "file" })
    expect(skipped.layers[0]?.specialFilesSkipped).toBe(2)

    const refused = await unpackEither({
      layers: [image],
      dest: path.join(ws.dir, "strict"),
      options: { specialFiles: "fail" }
    })
    expect(outcomeTag(refused)).toBe("SpecialFileRefused")
    expect(Either.isLeft(refused) && refused.left).toMatchObject({ layer: 0, entry: "run/initctl", type: "fifo" })
  })

  it("applies a file carrying SCHILY.xattr records and reports the attributes as not applied", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([
      { name: "usr/bin/ping", content: "ping", pax: { "SCHILY.xattr.security.capability": "cap" } }
    ])
    const result = await unpackOk({ layers: [image], dest: ws.dest })
    expect((await TreeSnapshot.take(ws.dest))["usr/bin/ping"]).toMatchObject({ text: "ping" })
    expect(result.layers[0]?.xattrsSkipped).toBe(1)
  })

  it("an absolute symlink in a parent position leads to the same place inside the image", async () => {
    const ws = await workspace()
    const image = await Fixture.layerOf([
      { name: "usr/lib/", type: "directory" },
      { name: "lib", type: "symlink", linkname: "/usr/lib" },
      { name: "lib/libz.so", content: "zlib" },
      { name: "escape", type: "symlink", linkname: ws.canary },
      { name: "escape/planted", content: "inside the image, not in the canary" }
    ])
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["usr/lib/libz.so"]).toMatchObject({ text: "zlib" })
    expect(tree[`${ws.canary.slice(1)}/planted`]).toMatchObject({ type: "file" })
    expect(await TreeSnapshot.take(ws.canary)).toEqual(ws.canaryBefore)
  })

  it.each(["none", "gzip", "zstd"] as const)("unpacks the same tree from a %s layer", async (compression) => {
    const ws = await workspace()
    const big = Buffer.alloc(300_000, "0123456789abcdef")
    const image = await Fixture.layerOf([
      { name: "data/big.bin", content: big },
      { name: "data/small.txt", content: "small" }
    ], compression)
    await unpackOk({ layers: [image], dest: ws.dest })
    const tree = await TreeSnapshot.take(ws.dest)
    expect(tree["data/big.bin"]).toMatchObject({ size: big.length })
    expect(tree["data/small.txt"]).toMatchObject({ text: "small" })
  })

  it("unpacks the Docker gzip layer media type", async () => {
    const ws = await workspace()
    const tarBytes = await Fixture.tar([{ name: "docker", content: "docker layer" }])
    const image = Fixture.layer(tarBytes, "gzip", { mediaType: MediaType.DockerLayerTarGzip })
    await unpackOk({ layers: [image], dest: ws.dest })
    expect((await TreeSnapshot.take(ws.dest))["docker"]).toMatchObject({ text: "docker layer" })
  })
})
