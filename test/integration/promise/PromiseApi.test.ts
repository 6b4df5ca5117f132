// The Promise API for callers without Effect: same operations, rejections with the same tagged errors.
import { Effect, Exit, Scope } from "effect"
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, readlinkSync, rmSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, Config } from "../../../src/promise.js"
import { startLayoutRegistry } from "../../registry-fixture/LayoutRegistry.js"
import { repoRoot } from "../cli/RunCli.js"

let host = ""
let scope: Scope.CloseableScope
let client: Client
let work = ""

beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  const registry = await Effect.runPromise(
    Scope.extend(startLayoutRegistry({ root: path.join(repoRoot, "res", "images"), mode: "no-tls" }), scope)
  )
  host = registry.host
  client = await Client.fromConfig(Config.builder().host(host).noTls())
  work = mkdtempSync(path.join(tmpdir(), "promise-api-"))
})

afterAll(async () => {
  await client?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(work, { recursive: true, force: true })
})

describe("the Promise API", () => {
  it("gets image info and unpacks the image", async () => {
    const info = await client.getImageInfo("com.example.hello", "latest")
    expect(info.annotations["org.opencontainers.image.title"]).toBe("hello")
    const events: Array<string> = []
    const dest = path.join(work, "hello")
    const result = await client.unpackImage(info, dest, work, { onProgress: (e) => events.push(e._tag) })
    expect(result.layers).toHaveLength(2)
    expect(readFileSync(path.join(dest, "app", "VERSION"), "utf8")).toBe("1.0.0\n")
    expect(readlinkSync(path.join(dest, "app", "run"))).toBe("hello.sh")
    expect(existsSync(path.join(dest, "app", "debug.log"))).toBe(false)
    expect(events.filter((e) => e === "LayerApplied")).toHaveLength(2)
  })

  it("rejects with the tagged registry error, carrying the OCI code", async () => {
    await expect(client.getImageInfo("com.example.hello", "nope")).rejects.toMatchObject({
      _tag: "RegistryError",
      code: "MANIFEST_UNKNOWN"
    })
  })

  it("streams a verified blob as a Node Readable", async () => {
    const info = await client.getImageInfo("com.example.hello", "latest")
    const layer = info.layers[0]!
    const stream = await client.registry.getBlob("com.example.hello", layer.digest, { size: layer.size })
    const hash = createHash("sha256")
    for await (const chunk of stream) hash.update(chunk as Buffer)
    expect(`sha256:${hash.digest("hex")}`).toBe(layer.digest)
  })

  it("lists every tag", async () => {
    expect(await client.registry.listAllTags("com.example.hello")).toEqual(["1.0.0", "latest"])
  })

  it("refuses a host whose scheme contradicts the mode when the client is made", async () => {
    await expect(Client.fromConfig(Config.builder().host(`https://${host}`).noTls())).rejects.toMatchObject({
      _tag: "InvalidConfig"
    })
  })
})
