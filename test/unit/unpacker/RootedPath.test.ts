// RootedPath: entry names are cleaned like POSIX paths below `/` and refused when they climb above it;
// symlinks in parent positions are followed with the root as `/`, never the final component.
import { Effect, Either } from "effect"
import fc from "fast-check"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import * as RootedPath from "../../../src/services/Unpacker/RootedPath.js"

const makeRoot = async () => {
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "rooted-path-")))
  onTestFinished(() => fs.rm(root, { recursive: true, force: true }))
  return root
}

const resolve = (root: string, name: string, parentLinks: RootedPath.ParentLinks = "follow") =>
  Effect.runPromise(
    Effect.either(
      Effect.flatMap(RootedPath.clean(name), (components) => RootedPath.resolve(root, components, parentLinks))
    )
  )

const component = fc.constantFrom("a", "b", "..", ".", "", "etc", ".wh.x")

describe("RootedPath.clean", () => {
  it("agrees with POSIX normalisation below / and refuses exactly the names that climb above it", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(component, { maxLength: 8 }), (absolute, parts) => {
        const name = (absolute ? "/" : "") + parts.join("/")
        const normalized = path.posix.normalize(name.replace(/^\/+/, "") || ".")
        const climbs = normalized === ".." || normalized.startsWith("../")
        const cleaned = RootedPath.clean(name)
        if (climbs) return Either.isLeft(cleaned)
        return Either.isRight(cleaned) && (cleaned.right.join("/") || ".") === normalized.replace(/\/$/, "")
      })
    )
  })

  it("never yields a component that is empty, . or ..", () => {
    fc.assert(
      fc.property(fc.string(), (name) =>
        Either.match(RootedPath.clean(name), {
          onLeft: () => true,
          onRight: (components) => components.every((c) => c !== "" && c !== "." && c !== ".." && !c.includes("/"))
        }))
    )
  })

  it("refuses a name with a NUL byte", () => {
    expect(Either.isLeft(RootedPath.clean("a\0b"))).toBe(true)
  })
})

describe("RootedPath.resolve", () => {
  it("follows a relative symlink in a parent position", async () => {
    const root = await makeRoot()
    await fs.mkdir(path.join(root, "usr/lib"), { recursive: true })
    await fs.symlink("usr/lib", path.join(root, "lib"))
    const result = await resolve(root, "lib/libc.so")
    expect(result).toEqual(Either.right({ parent: path.join(root, "usr/lib"), missing: [], name: "libc.so" }))
  })

  it("takes an absolute symlink target from the root, not from the host's /", async () => {
    const root = await makeRoot()
    await fs.mkdir(path.join(root, "real"), { recursive: true })
    await fs.symlink("/real", path.join(root, "abs"))
    const result = await resolve(root, "abs/file")
    expect(result).toEqual(Either.right({ parent: path.join(root, "real"), missing: [], name: "file" }))
  })

  it("reports the directories still missing below the deepest existing one", async () => {
    const root = await makeRoot()
    await fs.mkdir(path.join(root, "a"))
    await fs.symlink("a/new", path.join(root, "link"))
    const result = await resolve(root, "link/deeper/file")
    expect(result).toEqual(Either.right({ parent: path.join(root, "a"), missing: ["new", "deeper"], name: "file" }))
  })

  it("never follows the final component", async () => {
    const root = await makeRoot()
    await fs.symlink("/etc", path.join(root, "final"))
    const result = await resolve(root, "final")
    expect(result).toEqual(Either.right({ parent: root, missing: [], name: "final" }))
  })

  it("refuses a symlink whose target climbs above the root", async () => {
    const root = await makeRoot()
    await fs.mkdir(path.join(root, "a"))
    await fs.symlink("../../outside", path.join(root, "a/up"))
    const result = await resolve(root, "a/up/file")
    expect(Either.isLeft(result) && result.left._tag).toBe("UnsafePath")
  })

  it("ends a loop of symlinks with TooManySymlinks", async () => {
    const root = await makeRoot()
    await fs.symlink("b", path.join(root, "a"))
    await fs.symlink("a", path.join(root, "b"))
    const result = await resolve(root, "a/file")
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "TooManySymlinks", limit: 40 })
  })

  it("refuses any symlink in a parent position when links are not to be followed", async () => {
    const root = await makeRoot()
    await fs.mkdir(path.join(root, "real"))
    await fs.symlink("real", path.join(root, "link"))
    const result = await resolve(root, "link/.wh.file", "refuse")
    expect(Either.isLeft(result) && result.left._tag).toBe("UnsafePath")
  })

  it("fails with ENOTDIR when a parent component is a file", async () => {
    const root = await makeRoot()
    await fs.writeFile(path.join(root, "file"), "x")
    const result = await resolve(root, "file/child")
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "UnpackIoError", cause: { code: "ENOTDIR" } })
  })
})
