// The benchmark runner behind `npm run bench`: runs each scenario of the list in turn in one scratch
// directory (removed at the end, cached nothing) and prints its report. Options: --runs N (default 3),
// --budget SECONDS (of measuring per scenario, default 100, so the bench stays near 3 minutes), --only NAME,
// --profile. Targets missed are reported, not failed: only a scenario that breaks exits non-zero.
import * as fs from "node:fs/promises"
import { rmSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { BenchContext, Scenario } from "./Scenario.js"
import { tlsThroughput } from "./scenarios/TlsThroughput.js"
import { unpackImage } from "./scenarios/UnpackImage.js"
import { renderReport } from "./Table.js"

const scenarios: ReadonlyArray<Scenario> = [unpackImage, tlsThroughput]

interface Options {
  readonly runs: number
  readonly budgetSeconds: number
  readonly only: string | undefined
  readonly profile: boolean
}

const parseOptions = (args: ReadonlyArray<string>): Options => {
  const valueOf = (flag: string) => {
    const at = args.indexOf(flag)
    return at < 0 ? undefined : args[at + 1]
  }
  const runs = Number.parseInt(valueOf("--runs") ?? "3", 10)
  const budget = Number.parseFloat(valueOf("--budget") ?? "100")
  return {
    runs: Number.isInteger(runs) && runs > 0 ? runs : 3,
    budgetSeconds: Number.isFinite(budget) && budget > 0 ? budget : 100,
    only: valueOf("--only"), profile: args.includes("--profile")
  }
}

const main = async () => {
  const options = parseOptions(process.argv.slice(2))
  const chosen = scenarios.filter((s) => options.only === undefined || s.name === options.only)
  if (chosen.length === 0) {
    process.stderr.write(`no scenario named ${options.only}; known: ${scenarios.map((s) => s.name).join(", ")}\n`)
    return 2
  }
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "oci-bench-"))
  // An interrupted bench must not leave hundreds of MiB behind; the registry dies with us (pdeathsig).
  const onSignal = (signal: NodeJS.Signals) => {
    rmSync(workDir, { recursive: true, force: true })
    process.exit(signal === "SIGINT" ? 130 : 143)
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  const started = performance.now()
  let broken = 0
  try {
    for (const scenario of chosen) {
      const context: BenchContext = {
        runs: options.runs,
        budgetMs: options.budgetSeconds * 1000,
        workDir: await fs.mkdtemp(path.join(workDir, `${scenario.name}-`)),
        profile: options.profile,
        log: (line) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`)
      }
      try {
        const report = await scenario.run(context)
        process.stdout.write(`\n${renderReport(scenario.title, report)}\n`)
      } catch (e) {
        broken += 1
        process.stdout.write(`\n== ${scenario.title} ==\nBROKEN: ${e instanceof Error ? e.message : String(e)}\n`)
      } finally {
        await fs.rm(context.workDir, { recursive: true, force: true })
      }
    }
  } finally {
    await fs.rm(workDir, { recursive: true, force: true })
  }
  process.stdout.write(`\nbench finished in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
  return broken === 0 ? 0 : 1
}

process.exitCode = await main()
