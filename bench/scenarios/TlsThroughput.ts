// Blob download throughput over the RA-TLS transport (the project's TLS 1.3 engine) against Node's own TLS,
// both through RegistryApi.getBlob (digest and size verified on both sides) from the same OpenSSL server
// in another process, read as the unpacker reads layer blobs (`transient`: the RA-TLS side then copies
// each record into a reused ring; Node's TLS side does not, it was slower so). Target: at least 0.8 of
// Node's throughput.
import { Effect, Stream } from "effect"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import * as Config from "../../src/domain/Config.js"
import * as Client from "../../src/services/Client/Client.js"
import * as RaTlsCertResolver from "../../src/services/RaTlsCredentials/RaTlsCertResolver.js"
import { RegistryApi } from "../../src/services/RegistryApi/RegistryApi.js"
import * as TokenResolver from "../../src/services/TokenResolver/TokenResolver.js"
import { makeServerCertificates } from "../../test/registry-fixture/Certificates.js"
import { median } from "../Measure.js"
import type { BenchContext, Scenario, ScenarioReport } from "../Scenario.js"
import { fixed, mib } from "../Table.js"

const serverScript = fileURLToPath(new URL("../TlsBlobServer.mjs", import.meta.url))
const blobMiB = 256

const startServer = (certPem: string, keyPem: string) =>
  new Promise<{ port: number; digest: string; size: number; stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [serverScript], {
      env: { ...process.env, CERT_PEM: certPem, KEY_PEM: keyPem, BLOB_MIB: String(blobMiB) },
      stdio: ["ignore", "pipe", "inherit"]
    })
    child.once("error", reject)
    child.once("exit", (code) => reject(new Error(`TLS blob server exited with ${code}`)))
    createInterface({ input: child.stdout }).once("line", (line) => {
      const info = JSON.parse(line) as { port: number; digest: string; size: number }
      resolve({ ...info, stop: () => child.kill("SIGKILL") })
    })
  })

/** Seconds to download and verify the blob once over the transport `config` selects. */
const download = (config: Config.Config, digest: string, size: number) =>
  Effect.gen(function* () {
    const api = yield* RegistryApi
    const started = performance.now()
    const chunks = yield* Stream.runFoldEffect(api.getBlob("bench/blob", digest, { size, transient: true }), 0, (n, c) => Effect.succeed(n + c.length))
    if (chunks !== size) return yield* Effect.die(new Error(`downloaded ${chunks} bytes, expected ${size}`))
    return (performance.now() - started) / 1000
  }).pipe(Effect.provide(Client.registryLayer(config)), Effect.scoped)

export const tlsThroughput: Scenario = {
  name: "tls-throughput",
  title: "Blob download: RA-TLS transport (own TLS 1.3 engine) vs Node's TLS",
  run: async (context: BenchContext): Promise<ScenarioReport> => {
    const { ca, server } = await Effect.runPromise(makeServerCertificates({ keyType: "ec-p256" }))
    const blob = await startServer(server.chainPem, server.keyPem)
    try {
      const host = `127.0.0.1:${blob.port}`
      // The server asks for no client certificate, so the token resolver is never called.
      const unused = RaTlsCertResolver.fromTokenResolver(TokenResolver.make(() => Effect.die(new Error("no certificate was requested"))))
      const sides = {
        node: Config.builder().host(host).tls(ca.certPem),
        ratls: Config.builder().host(host).raTls(ca.certPem, unused)
      }
      const seconds: Record<keyof typeof sides, Array<number>> = { node: [], ratls: [] }
      const started = performance.now()
      for (let run = 0; run < context.runs; run++) {
        if (run > 0 && performance.now() - started > context.budgetMs) break
        for (const side of ["node", "ratls"] as const) {
          context.log(`tls-throughput: run ${run + 1}, ${side}`)
          seconds[side].push(await Effect.runPromise(download(sides[side], blob.digest, blob.size)))
        }
      }
      const rate = (side: keyof typeof sides) => mib(blob.size) / median(seconds[side])
      const ratio = rate("ratls") / rate("node")
      return {
        summary: [
          `${blobMiB} MiB blob over TLS 1.3 on loopback from an OpenSSL server in another process, verified by digest on both sides, read as the unpacker reads layer blobs (transient); median of ${seconds.node.length} runs each, alternating.`
        ],
        tables: [{
          columns: ["client transport", "median s", "MiB/s", "runs (s)"],
          rows: (["node", "ratls"] as const).map((side) => [
            side === "node" ? "Node TLS (OpenSSL)" : "RA-TLS engine",
            fixed(median(seconds[side]), 2),
            fixed(rate(side), 1),
            seconds[side].map((s) => fixed(s, 2)).join(" ")
          ])
        }],
        verdicts: [{ target: "RA-TLS throughput >= 0.8 x Node TLS", measured: `${fixed(ratio, 2)} x`, pass: ratio >= 0.8 }],
        notes: []
      }
    } finally {
      blob.stop()
    }
  }
}

