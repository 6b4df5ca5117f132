/**
 * Writes the sample application image the demo serves: res/images/com.example.hello, an OCI image layout
 * with an index for linux/amd64 and linux/arm64 over two gzip layers (the second removes a file of the
 * first with a whiteout). Run `npx tsx scripts/make-sample-image.ts` to regenerate it.
 */
import { Effect } from "effect"
import { rm } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Entry, buildImage, buildIndex, buildLayer } from "../test/registry-fixture/ImageBuilder.js"
import { writeOciLayout } from "../test/registry-fixture/OciLayout.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const target = path.join(root, "res", "images", "com.example.hello")

const program = Effect.gen(function* () {
  const base = yield* buildLayer([
    Entry.directory("app", { mode: 0o755 }),
    Entry.file("app/hello.sh", "#!/bin/sh\necho \"Hello from a verified image\"\n", { mode: 0o755 }),
    Entry.file("app/README", "A sample application image for oci-ratls-client's demo.\n", { mode: 0o644 }),
    Entry.file("app/debug.log", "left over from the build\n", { mode: 0o644 }),
    Entry.directory("etc", { mode: 0o755 }),
    Entry.file("etc/hello.conf", "greeting=Hello\n", { mode: 0o644 })
  ], { compression: "gzip" })
  const update = yield* buildLayer([
    Entry.whiteout("app/debug.log"),
    Entry.file("app/VERSION", "1.0.0\n", { mode: 0o644 }),
    Entry.symlink("app/run", "hello.sh")
  ], { compression: "gzip" })
  const image = (architecture: string, variant?: string) =>
    buildImage({
      layers: [base, update],
      platform: variant === undefined ? { os: "linux", architecture } : { os: "linux", architecture, variant },
      config: { config: { Entrypoint: ["/app/hello.sh"], WorkingDir: "/app" } },
      annotations: { "org.opencontainers.image.title": "hello", "org.opencontainers.image.version": "1.0.0" }
    })
  const index = buildIndex([image("amd64"), image("arm64", "v8")])
  yield* Effect.promise(() => rm(target, { recursive: true, force: true }))
  yield* writeOciLayout(target, [{ manifest: index, tags: ["latest", "1.0.0"] }])
  yield* Effect.log(`wrote ${target} (index ${index.digest})`)
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
