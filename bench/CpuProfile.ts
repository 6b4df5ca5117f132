// Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and says where the main thread's time went: self time
// by area (Effect runtime, tar parser, Node streams, fs, our code, idle) and the hottest functions.
import * as fs from "node:fs/promises"
import type { Table } from "./Scenario.js"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const packageOf = (url: string): string | undefined => {
  const at = url.lastIndexOf("node_modules/")
  if (at < 0) return undefined
  const rest = url.slice(at + "node_modules/".length).split("/")
  return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]
}

const areaOf = (frame: ProfileNode["callFrame"]): string => {
  if (frame.url === "") return frame.functionName.startsWith("(") ? frame.functionName : "native"
  const pkg = packageOf(frame.url)
  if (pkg === "effect") return "effect runtime"
  if (frame.url.includes("/Unpacker/TarEntries")) return "tar reader"
  if (pkg !== undefined) return pkg
  const dist = frame.url.indexOf("/dist/")
  if (dist >= 0) return `ours: ${frame.url.slice(dist + "/dist/".length)}`
  if (frame.url.startsWith("node:")) {
    const [first, second] = frame.url.slice("node:".length).split("/")
    return `node:${first === "internal" && second !== undefined ? second.replace(/\.js$/, "") : first}`
  }
  return frame.url
}

const place = (frame: ProfileNode["callFrame"]): string => {
  const pkg = packageOf(frame.url)
  const file = frame.url.split("/").pop() ?? ""
  return `${frame.functionName || "(anonymous)"} ${pkg === undefined ? file : `${pkg}/${file}`}:${frame.lineNumber + 1}`
}

/** Two tables: self time by area, and the `top` functions with the most self time. */
export const summarizeProfile = async (file: string, top = 15): Promise<ReadonlyArray<Table>> => {
  const profile = JSON.parse(await fs.readFile(file, "utf8")) as Profile
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const byArea = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)
    const micros = profile.timeDeltas[i] ?? 0
    if (frame === undefined) return
    total += micros
    byArea.set(areaOf(frame), (byArea.get(areaOf(frame)) ?? 0) + micros)
    byFunction.set(place(frame), (byFunction.get(place(frame)) ?? 0) + micros)
  })
  const rows = (map: Map<string, number>, limit: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([name, micros]) => [
      name,
      `${(micros / 1000).toFixed(0)} ms`,
      `${((100 * micros) / total).toFixed(1)} %`
    ])
  return [
    {
      title: `main thread self time by area (${(total / 1e6).toFixed(2)} s sampled)`,
      columns: ["area", "self", "share"],
      rows: rows(byArea, 14)
    },
    { title: `hottest ${top} functions (self time)`, columns: ["function", "self", "share"], rows: rows(byFunction, top) }
  ]
}
