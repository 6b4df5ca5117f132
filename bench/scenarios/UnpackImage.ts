// Pull-and-unpack of a ~300 MiB five-layer gzip image from a real registry on loopback: the bundled
// `get-image` CLI, as a user runs it, against `curl | gunzip | tar -x` per layer; the library on its own
// (bench/pull.mjs) runs too, for its stage timings. Sides alternate run by run; the trees left behind
// must be identical for the figures to count.
import { rmSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { pushImage, runDetached, startRegistry } from "../../test/registry-fixture/index.js"
import { summarizeProfile } from "../CpuProfile.js"
import { measure, median, type Measurement } from "../Measure.js"
import type { BenchContext, Scenario, ScenarioReport, Table } from "../Scenario.js"
import { fixed, mib } from "../Table.js"
import { buildTestImage } from "../TestImage.js"
import { summarize, type TreeSummary } from "../TreeSummary.js"

const repository = "bench/unpack"
const tag = "v1"
const pullScript = fileURLToPath(new URL("../pull.mjs", import.meta.url))
const cliScript = fileURLToPath(new URL("../../dist/cli/get-image.js", import.meta.url))

const rssTarget = 200 * 1024
const ratioTarget = 1.0

/** What bench/pull.mjs prints. */
interface PullReport {
  readonly startedAtMs: number
  readonly infoMs: number
  readonly totalMs: number
  readonly layerAppliedAtMs: ReadonlyArray<number>
  readonly layers: ReadonlyArray<{ readonly entries: number; readonly tarBytes: number }>
  readonly maxRssKiB: number
  readonly cpuMs: number
}

interface LibraryRun extends Measurement {
  readonly report: PullReport
}

type Side = "baseline" | "ours" | "library"

const seconds = (ms: number) => `${fixed(ms / 1000, 2)} s`

const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`

const flushPageCache = () => measure("sync", [], "/tmp").then(() => undefined)

const ourJob = (host: string, dest: string, temp: string) =>
  JSON.stringify({ host, repository, reference: tag, dest, temp })

const runLibrary = async (host: string, runDir: string, nodeArgs: ReadonlyArray<string> = []): Promise<LibraryRun> => {
  const temp = path.join(runDir, "tmp")
  await fs.mkdir(temp, { recursive: true })
  const measured = await measure(process.execPath, [...nodeArgs, pullScript, ourJob(host, path.join(runDir, "tree"), temp)], runDir)
  const last = measured.stdout.trim().split("\n").pop() ?? "{}"
  return { ...measured, report: JSON.parse(last) as PullReport }
}

const runCli = async (host: string, runDir: string, nodeArgs: ReadonlyArray<string> = []): Promise<Measurement> => {
  const temp = path.join(runDir, "tmp")
  await fs.mkdir(temp, { recursive: true })
  const args = ["--log-level", "none", "--host", host, "--tls", "no-tls", "--app-name", repository, "--reference", tag]
  return measure(process.execPath, [...nodeArgs, cliScript, ...args, "--dest", path.join(runDir, "tree"), "--temp", temp], runDir)
}

const runBaseline = async (url: string, layers: ReadonlyArray<string>, runDir: string): Promise<Measurement> => {
  const tree = path.join(runDir, "tree")
  await fs.mkdir(tree, { recursive: true })
  const script = layers
    .map((digest) => `curl -sf ${shellQuote(`${url}/v2/${repository}/blobs/${digest}`)} | gunzip | tar -x -C ${shellQuote(tree)}`)
    .join(" && ")
  return measure("sh", ["-c", script], runDir)
}

const sameTrees = (a: TreeSummary, b: TreeSummary) =>
  a.files === b.files && a.directories === b.directories && a.symlinks === b.symlinks && a.bytes === b.bytes &&
  a.digest === b.digest

const run = async (context: BenchContext): Promise<ScenarioReport> => {
  const dir = path.join(context.workDir, "unpack")
  await fs.mkdir(dir, { recursive: true })
  context.log("unpack: starting the registry (binary back end)")
  const registry = await runDetached(startRegistry({ backend: "binary" }))
  try {
    const { host, url } = registry.value
    const layerDir = path.join(dir, "layers")
    await fs.mkdir(layerDir)
    context.log("unpack: building the test image")
    const buildStart = performance.now()
    const built = await buildTestImage(layerDir)
    const buildMs = performance.now() - buildStart
    context.log(`unpack: built in ${seconds(buildMs)}; pushing`)
    await Effect.runPromise(pushImage(registry.value, repository, tag, built.image))
    rmSync(layerDir, { recursive: true, force: true })
    const gzipBytes = built.layers.reduce((n, l) => n + l.size, 0)
    const digests = built.layers.map((l) => l.digest)

    const baseline: Array<Measurement> = []
    const ours: Array<Measurement> = []
    const library: Array<LibraryRun> = []
    // The first round's trees are summarized; every tree stays until the last run is over. Removing 10 000
    // files just before a run makes that run slow on ext4: for about 30 s after a deletion, creating a file
    // makes the kernel look through recently freed inodes (`recently_deleted`), which tripled the system
    // time of both sides here. The page cache is flushed (sync) before each run instead.
    const trees: Partial<Record<Side, TreeSummary>> = {}
    const runDirs: Array<string> = []
    // One unmeasured run of the CLI first: it writes V8's code cache for the bundle (src/cli/CompileCache.ts),
    // which every later run of an installed CLI finds, as the measured runs do.
    context.log("unpack: warming the CLI's code cache with one unmeasured run")
    await runCli(host, path.join(dir, "warm-up")).catch(() => undefined)
    const measuring = performance.now()
    const load = os.loadavg().map((l) => fixed(l, 2)).join(" ")
    for (let i = 0; i < context.runs; i++) {
      const order: ReadonlyArray<Side> = i % 2 === 0 ? ["baseline", "ours", "library"] : ["library", "ours", "baseline"]
      for (const side of order) {
        const runDir = path.join(dir, `${side}-${i}`)
        await fs.mkdir(runDir)
        await flushPageCache()
        const latest = side === "baseline"
          ? await runBaseline(url, digests, runDir)
          : side === "ours"
          ? await runCli(host, runDir)
          : await runLibrary(host, runDir)
        if (side === "baseline") baseline.push(latest)
        else if (side === "ours") ours.push(latest)
        else library.push(latest as LibraryRun)
        context.log(`unpack: run ${i + 1}/${context.runs} ${side}: ${seconds(latest.wallMs)}`)
        if (i === 0) trees[side] = summarize(path.join(runDir, "tree"))
        runDirs.push(runDir)
      }
      if (performance.now() - measuring > context.budgetMs) break
    }
    const [baseTree, ourTree, libraryTree] = [trees.baseline!, trees.ours!, trees.library!]
    const tarBytes = library[0]!.report.layers.reduce((n, l) => n + l.tarBytes, 0)

    const profileTables: Array<Table> = []
    if (context.profile) {
      context.log("unpack: profiling our side once more with --cpu-prof")
      const runDir = path.join(dir, "profile")
      const profileDir = path.join(runDir, "cpuprofile")
      await fs.mkdir(profileDir, { recursive: true })
      await flushPageCache()
      const profiled = await runCli(host, runDir, ["--cpu-prof", `--cpu-prof-dir=${profileDir}`])
      const [file] = await fs.readdir(profileDir)
      if (file !== undefined) {
        const [byArea, byFunction] = await summarizeProfile(path.join(profileDir, file))
        profileTables.push({ ...byArea!, title: `Profiled run (${seconds(profiled.wallMs)}): ${byArea!.title}` }, byFunction!)
      }
    }

    return report({
      buildMs,
      gzipBytes,
      tarBytes,
      built,
      baseline,
      ours,
      library,
      baseTree,
      ourTree,
      libraryTree,
      profileTables,
      load,
      runs: `${ours.length}${ours.length < context.runs ? ` of ${context.runs} (time budget reached)` : ""}`
    })
  } finally {
    await registry.close()
  }
}

interface Figures {
  readonly buildMs: number
  readonly gzipBytes: number
  readonly tarBytes: number
  readonly built: Awaited<ReturnType<typeof buildTestImage>>
  readonly baseline: ReadonlyArray<Measurement>
  readonly ours: ReadonlyArray<Measurement>
  readonly library: ReadonlyArray<LibraryRun>
  readonly baseTree: TreeSummary
  readonly ourTree: TreeSummary
  readonly libraryTree: TreeSummary
  readonly profileTables: ReadonlyArray<Table>
  readonly load: string
  /** How many runs per side were made, in words. */
  readonly runs: string
}

const report = (f: Figures): ScenarioReport => {
  const cpuOf = (runs: ReadonlyArray<Measurement>) => {
    const cpu = runs.map((r) => r.cpuMs).filter((c): c is number => c !== undefined)
    return cpu.length === 0 ? undefined : median(cpu)
  }
  const sideRow = (side: string, runs: ReadonlyArray<Measurement>) => {
    const wall = median(runs.map((r) => r.wallMs))
    const rss = runs.map((r) => r.maxRssKiB).filter((k): k is number => k !== undefined)
    const cpu = cpuOf(runs)
    return [
      side,
      seconds(wall),
      fixed(mib(f.tarBytes) / (wall / 1000)),
      fixed(mib(f.gzipBytes) / (wall / 1000)),
      rss.length === 0 ? "n/a" : `${fixed(Math.max(...rss) / 1024)} MiB`,
      cpu === undefined ? "n/a" : seconds(cpu),
      runs.map((r) => fixed(r.wallMs / 1000, 2)).join(" ")
    ]
  }
  const baseWall = median(f.baseline.map((r) => r.wallMs))
  const ourWall = median(f.ours.map((r) => r.wallMs))
  const ratio = ourWall / baseWall
  const [baseCpu, ourCpu] = [cpuOf(f.baseline), cpuOf(f.ours)]
  const cpuRatio = baseCpu === undefined || ourCpu === undefined ? undefined : ourCpu / baseCpu
  const ourRss = Math.max(...f.ours.map((r) => r.maxRssKiB ?? 0))
  const identical = sameTrees(f.baseTree, f.ourTree) && sameTrees(f.baseTree, f.libraryTree)

  // The stage breakdown of the library's median run, from its progress events.
  const middle = [...f.library].sort((a, b) => a.wallMs - b.wallMs)[f.ours.length >> 1]!
  const stages: Array<Array<string>> = [
    ["node start + module load", seconds(middle.report.startedAtMs), "", "", ""],
    ["getImageInfo (manifest + config)", seconds(middle.report.infoMs), "", "", ""]
  ]
  middle.report.layerAppliedAtMs.forEach((at, i) => {
    const from = i === 0 ? middle.report.infoMs : middle.report.layerAppliedAtMs[i - 1]!
    const layer = middle.report.layers[i]!
    const gz = f.built.layers[i]!.size
    stages.push([
      `layer ${i} applied`,
      seconds(at - from),
      `${fixed(mib(layer.tarBytes))} / ${fixed(mib(gz))}`,
      String(layer.entries),
      fixed(mib(layer.tarBytes) / ((at - from) / 1000))
    ])
  })
  const lastApplied = middle.report.layerAppliedAtMs[middle.report.layerAppliedAtMs.length - 1] ?? middle.report.infoMs
  stages.push(["install (rename) + report", seconds(middle.report.totalMs - lastApplied), "", "", ""])
  stages.push(["process exit", seconds(middle.wallMs - middle.report.startedAtMs - middle.report.totalMs), "", "", ""])

  const treeRow = (side: string, t: TreeSummary) =>
    [side, String(t.files), String(t.directories), fixed(mib(t.bytes), 2), t.digest.slice(0, 16)]

  return {
    summary: [
      `Image: 5 gzip layers, ${fixed(mib(f.tarBytes))} MiB of tar (uncompressed), ${fixed(mib(f.gzipBytes))} MiB gzip, ` +
      `${f.built.smallFiles} small files (1-16 KiB) + ${f.built.largeFiles} large; built and pushed in ${seconds(f.buildMs)}+.`,
      `Baseline: per layer, in order, sh -c 'curl -sf BLOB_URL | gunzip | tar -x -C DIR'.`,
      `Ours: node dist/cli/get-image.js --log-level none … (the bundled CLI, default options, its code cache written by one unmeasured run first), fresh dest.`,
      `Library: node bench/pull.mjs = Client.getImageInfo + Client.unpackImage (dist/ modules, default options), fresh dest.`,
      `${f.runs} run(s) per side, alternating, page cache flushed (sync) before each; medians shown, RSS is the max.`,
      `Load average when measuring started: ${f.load} on ${os.cpus().length} CPUs (others' work skews wall times; CPU time less so).`
    ],
    tables: [
      {
        columns: ["side", "wall (median)", "tar MiB/s", "gzip MiB/s", "peak RSS", "CPU user+sys", "runs (s)"],
        rows: [
          sideRow("baseline", f.baseline),
          sideRow("ours (get-image CLI)", f.ours),
          sideRow("library (pull.mjs)", f.library),
          ["ratio ours/baseline", `${fixed(ratio, 2)}x`, "", "", "", cpuRatio === undefined ? "" : `${fixed(cpuRatio, 2)}x`]
        ]
      },
      {
        title: `The library's median run (${seconds(middle.wallMs)}) by stage`,
        columns: ["stage", "time", "tar / gzip MiB", "entries", "tar MiB/s"],
        rows: stages
      },
      {
        title: "Trees left behind (first run of each side)",
        columns: ["side", "files", "dirs", "MiB", "tree digest"],
        rows: [treeRow("baseline", f.baseTree), treeRow("ours", f.ourTree), treeRow("library", f.libraryTree)]
      },
      ...f.profileTables
    ],
    verdicts: [
      { target: `wall time ours/baseline < ${fixed(ratioTarget, 1)}`, measured: `${fixed(ratio, 2)}x`, pass: ratio < ratioTarget },
      { target: "peak RSS of ours < 200 MiB", measured: `${fixed(ourRss / 1024)} MiB`, pass: ourRss < rssTarget },
      {
        target: "both trees identical (files, dirs, bytes, modes, content)",
        measured: identical ? "identical" : "DIFFERENT",
        pass: identical
      }
    ],
    notes: [
      "Baseline peak RSS is that of its largest single process (curl, gunzip or tar), as GNU time reports a tree.",
      ...(identical ? [] : ["The trees differ, so the timing comparison is not like for like."])
    ]
  }
}

export const unpackImage: Scenario = {
  name: "unpack",
  title: "Pull + unpack a ~300 MiB 5-layer gzip image: ours vs curl | gunzip | tar",
  run
}
