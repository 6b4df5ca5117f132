import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { pushImage, runDetached, startRegistry } from "../test/registry-fixture/index.js"
import { buildTestImage } from "./TestImage.js"
const registry = await runDetached(startRegistry({ backend: "binary" }))
await fs.mkdir("/tmp/exp/layers", { recursive: true })
const built = await buildTestImage("/tmp/exp/layers")
await Effect.runPromise(pushImage(registry.value, "bench/unpack", "v1", built.image))
await fs.writeFile("/tmp/exp/info.json", JSON.stringify({ host: registry.value.host, url: registry.value.url, digests: built.layers.map((l) => l.digest) }))
console.log("ready", registry.value.host)
setInterval(() => {}, 1 << 30)
