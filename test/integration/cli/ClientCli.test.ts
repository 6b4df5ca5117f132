import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Fault } from "../../registry-fixture/FaultProxy.js"
import { FaultProxyTag, SeededRegistry, seededRegistryWithProxy } from "../registry/SeededRegistry.js"
import { runCli } from "./RunCli.js"

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const scratch = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(tmpdir(), "client-cli-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

layer(seededRegistryWithProxy(), { timeout: "120 seconds", excludeTestServices: true })("the client CLI as a process", (it) => {
  it.effect("get-manifest prints the manifest the registry holds, exit code 0", () =>
    Effect.gen(function* () {
      const { registry, oci } = yield* SeededRegistry
      const result = yield* runCli("client", ["-a", registry.host, "get-manifest", "-a", "some/app", "-r", "v1"])
      expect(result.code).toBe(0)
      expect(result.stdout.toString()).toBe(`${Buffer.from(oci.bytes).toString()}\n`)
    }))

  it.scoped("get-blob -o writes a blob whose sha256 matches its digest", () =>
    Effect.gen(function* () {
      const { registry, oci } = yield* SeededRegistry
      const dir = yield* scratch
      const out = path.join(dir, "layer.bin")
      const digest = oci.layers[0]!.digest
      const result = yield* runCli("client", ["-a", registry.host, "get-blob", "-a", "some/app", "-d", digest, "-o", out])
      expect(result.code).toBe(0)
      expect(sha256(readFileSync(out))).toBe(digest)
    }))

  it.effect("get-blob without -o writes the verified blob to stdout", () =>
    Effect.gen(function* () {
      const { registry, oci } = yield* SeededRegistry
      const result = yield* runCli("client", ["-a", registry.host, "get-blob", "-a", "some/app", "-d", oci.config.digest])
      expect(result.code).toBe(0)
      expect(sha256(result.stdout)).toBe(oci.config.digest)
    }))

  it.effect("list-tags -n 5 -l t003 prints the five tags after t003", () =>
    Effect.gen(function* () {
      const { registry } = yield* SeededRegistry
      const result = yield* runCli("client", ["-a", registry.host, "list-tags", "-a", "many/tags", "-n", "5", "-l", "t003"])
      expect(result.code).toBe(0)
      expect(JSON.parse(result.stdout.toString())).toEqual({ name: "many/tags", tags: ["t004", "t005", "t006", "t007", "t008"] })
    }))

  it.effect("list-tags without -n prints every tag", () =>
    Effect.gen(function* () {
      const { registry, tags } = yield* SeededRegistry
      const result = yield* runCli("client", ["-a", `http://${registry.host}`, "list-tags", "-a", "many/tags"])
      expect(JSON.parse(result.stdout.toString()).tags).toEqual(tags)
    }))

  it.effect("an unknown tag exits 1 with one line on stderr naming the code", () =>
    Effect.gen(function* () {
      const { registry } = yield* SeededRegistry
      const result = yield* runCli("client", ["-a", registry.host, "get-manifest", "-a", "some/app", "-r", "v404"])
      expect(result.code).toBe(1)
      expect(result.stdout.length).toBe(0)
      const lines = result.stderr.trim().split("\n")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^client: error: GET \/v2\/some\/app\/manifests\/v404 .*MANIFEST_UNKNOWN.*\[RegistryError\]$/)
    }))

  it.scoped("a blob the registry does not have leaves no --out file and exits 1", () =>
    Effect.gen(function* () {
      const { registry } = yield* SeededRegistry
      const dir = yield* scratch
      const out = path.join(dir, "layer.bin")
      const missing = sha256(Buffer.from("no such blob"))
      const result = yield* runCli("client", ["-a", registry.host, "get-blob", "-a", "some/app", "-d", missing, "-o", out])
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("BLOB_UNKNOWN")
      expect(readdirSync(dir)).toEqual([])
    }))

  it.scoped("a corrupted blob leaves no --out file behind and exits 1", () =>
    Effect.gen(function* () {
      const { oci } = yield* SeededRegistry
      const proxy = yield* FaultProxyTag
      const dir = yield* scratch
      const out = path.join(dir, "layer.bin")
      const digest = oci.layers[0]!.digest
      proxy.setRules([{ path: /\/blobs\//, fault: Fault.corrupt(40) }])
      const result = yield* runCli("client", ["-a", proxy.host, "get-blob", "-a", "some/app", "-d", digest, "-o", out]).pipe(
        Effect.ensuring(Effect.sync(() => proxy.clearRules()))
      )
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("[DigestMismatch]")
      expect(readdirSync(dir)).toEqual([])
    }))

  it.effect("a refused connection exits 1 naming the host", () =>
    Effect.gen(function* () {
      const result = yield* runCli("client", ["-a", "127.0.0.1:1", "list-tags", "-a", "some/app"])
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/client: error: connection to 127\.0\.0\.1:1 failed.*\[ConnectionError\]/)
    }))

  it.scoped("tls mode with a missing --root-ca file names the file", () =>
    Effect.gen(function* () {
      const dir = yield* scratch
      const result = yield* runCli("client", ["-t", "tls", "list-tags", "-a", "some/app"], { cwd: dir })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("--root-ca ./res/root-ca.crt: no such file")
    }))

  it.effect("a bad digest argument is a one-line usage error, not a crash", () =>
    Effect.gen(function* () {
      const { registry } = yield* SeededRegistry
      const result = yield* runCli("client", ["-a", registry.host, "get-blob", "-a", "some/app", "-d", "sha256:abc"])
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/invalid digest.*\[InvalidDigest\]/)
    }))

  it.effect("--help lists the three commands and the seed's defaults", () =>
    Effect.gen(function* () {
      const result = yield* runCli("client", ["--help"])
      expect(result.code).toBe(0)
      const text = result.stdout.toString()
      for (const word of ["get-manifest", "get-blob", "list-tags", "localhost:1337", "no-tls", "./res/token.bin", "./res/root-ca.crt"]) {
        expect(text).toContain(word)
      }
    }))
})
