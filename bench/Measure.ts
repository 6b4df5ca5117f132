// Runs one command of a benchmark as a child process tree and measures it from outside: wall time around
// the spawn, and, through GNU time when the machine has it, the peak RSS and CPU time of the tree.
import { Data } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"

export const gnuTime = "/usr/bin/time"

export interface Measurement {
  readonly wallMs: number
  /** The largest resident set of any one process of the tree, KiB; absent without GNU time. */
  readonly maxRssKiB: number | undefined
  /** User plus system CPU time of the whole tree, ms; absent without GNU time. */
  readonly cpuMs: number | undefined
  readonly stdout: string
  readonly stderr: string
}

export class CommandFailed extends Data.TaggedError("CommandFailed")<{
  readonly command: string
  readonly code: number | null
  readonly stderr: string
}> {
  override get message(): string {
    return `${this.command} exited with ${this.code}: ${this.stderr.trim().slice(-2000)}`
  }
}

const field = (report: string, label: string): number | undefined => {
  const line = report.split("\n").find((l) => l.trim().startsWith(`${label}:`))
  const value = line === undefined ? Number.NaN : Number.parseFloat(line.slice(line.lastIndexOf(":") + 1))
  return Number.isFinite(value) ? value : undefined
}

/** Runs `command args`; `scratch` is a directory for GNU time's report. Fails when the command does. */
export const measure = async (
  command: string,
  args: ReadonlyArray<string>,
  scratch: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<Measurement> => {
  const report = path.join(scratch, `time-${process.hrtime.bigint()}.txt`)
  const timed = existsSync(gnuTime)
  const [file, argv] = timed ? [gnuTime, ["-v", "-o", report, command, ...args]] : [command, [...args]]
  const started = performance.now()
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"], env })
      let out = ""
      let err = ""
      child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s))
      child.stderr.setEncoding("utf8").on("data", (s: string) => (err = (err + s).slice(-16_384)))
      child.once("error", reject)
      child.once("close", (exit) => resolve({ code: exit, stdout: out, stderr: err }))
    }
  )
  const wallMs = performance.now() - started
  if (code !== 0) throw new CommandFailed({ command: [command, ...args].join(" ").slice(0, 300), code, stderr })
  if (!timed) return { wallMs, maxRssKiB: undefined, cpuMs: undefined, stdout, stderr }
  const text = await fs.readFile(report, "utf8")
  await fs.rm(report, { force: true })
  const user = field(text, "User time (seconds)")
  const system = field(text, "System time (seconds)")
  return {
    wallMs,
    maxRssKiB: field(text, "Maximum resident set size (kbytes)"),
    cpuMs: user === undefined || system === undefined ? undefined : (user + system) * 1000,
    stdout,
    stderr
  }
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
