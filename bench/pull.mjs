// The library side of the unpack benchmark (beside the bundled CLI), in its own process so that its peak
// RSS is its own: the built library modules (dist/, as shipped) pull an image and unpack it, then print one
// JSON line of stage timings, each in ms since `started` (`startedAtMs`: node start-up and module loading).
// Usage: node bench/pull.mjs '{"host":"127.0.0.1:PORT","repository":"…","reference":"…","dest":"…","temp":"…"}'
import { Effect } from "effect"
// Only the modules a pull needs, not the whole index: what a lean consumer of the library would load.
import * as Config from "../dist/domain/Config.js"
import * as Client from "../dist/services/Client/Client.js"

const job = JSON.parse(process.argv[2] ?? "{}")
const started = performance.now()
const applied = []

const program = Effect.gen(function*() {
  const client = yield* Client.Client
  const info = yield* client.getImageInfo(job.repository, job.reference)
  const infoMs = performance.now() - started
  const result = yield* client.unpackImage(info, job.dest, job.temp, {
    ...(job.concurrency === undefined ? {} : { concurrency: job.concurrency }),
    onProgress: (event) => {
      if (event._tag === "LayerApplied") applied.push(performance.now() - started)
    }
  })
  return { infoMs, result }
}).pipe(Effect.provide(Client.layer(Config.builder().host(job.host).noTls())))

const { infoMs, result } = await Effect.runPromise(program)
const usage = process.resourceUsage()
process.stdout.write(`${JSON.stringify({
  startedAtMs: started,
  infoMs,
  totalMs: performance.now() - started,
  layerAppliedAtMs: applied,
  layers: result.layers.map((l) => ({ entries: l.entries, tarBytes: l.tarBytes })),
  maxRssKiB: usage.maxRSS,
  cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000
})}\n`)
