// The benchmark image: five gzip layers of about 300 MiB of tar in all, shaped like a real image (thousands
// of 1-16 KiB files in nested directories, a few files of tens of MiB), with text-like, hex-like and
// incompressible content so that gzip works for its ratio. Layers stream to files, never into memory.
import { Effect } from "effect"
import { createCipheriv, createHash, type Cipher } from "node:crypto"
import * as path from "node:path"
import {
  buildImage,
  buildLayerFile,
  Entry,
  pseudoRandomContent,
  type BuiltImage,
  type ContentStream,
  type LayerEntry,
  type LayerFile
} from "../test/registry-fixture/index.js"

type Kind = "text" | "hex" | "random"

interface LargeFile {
  readonly name: string
  readonly kind: Kind
  readonly mib: number
}

interface LayerPlan {
  /** Directories every layer of a real image repeats above its own files. */
  readonly parents: ReadonlyArray<string>
  /** Where this layer's small files go, in `dNN/eNN/` subdirectories. */
  readonly root: string
  readonly smallFiles: number
  readonly large: ReadonlyArray<LargeFile>
}

const MiB = 1024 * 1024

// ~25 + ~88 + ~55 + ~68 + ~62 MiB of file content, 10 000 small files in all.
const plan: ReadonlyArray<LayerPlan> = [
  { parents: ["usr/", "usr/lib/"], root: "usr/lib/base", smallFiles: 3000, large: [] },
  {
    parents: ["opt/"],
    root: "opt/runtime",
    smallFiles: 1000,
    large: [
      { name: "opt/runtime/bin/runtime", kind: "random", mib: 40 },
      { name: "opt/runtime/lib/runtime.so", kind: "random", mib: 40 }
    ]
  },
  {
    parents: ["usr/", "usr/lib/"],
    root: "usr/lib/libs",
    smallFiles: 3000,
    large: [{ name: "usr/lib/libs/catalog.txt", kind: "text", mib: 30 }]
  },
  {
    parents: ["srv/"],
    root: "srv/data",
    smallFiles: 1000,
    large: [
      { name: "srv/data/corpus.txt", kind: "text", mib: 40 },
      { name: "srv/data/dump.hex", kind: "hex", mib: 20 }
    ]
  },
  { parents: [], root: "app", smallFiles: 2000, large: [{ name: "app/bundle.bin", kind: "random", mib: 45 }] }
]

const filesPerDirectory = 20
const directoriesPerGroup = 10

const keystream = (seed: string): Cipher =>
  createCipheriv("aes-128-ctr", createHash("sha256").update(seed).digest().subarray(0, 16), Buffer.alloc(16))

const randomBytes = (cipher: Cipher, size: number): Buffer => cipher.update(Buffer.alloc(size))

// 256 made-up words, so one random byte picks one: English-like redundancy that gzip's matcher finds.
const vocabulary = (() => {
  const letters = "etaoinshrdlucmfwypvbgkjqxz"
  const random = randomBytes(keystream("bench-vocabulary"), 256 * 11)
  const words: Array<string> = []
  for (let w = 0; w < 256; w++) {
    const length = 2 + (random[w * 11]! % 8)
    let word = ""
    for (let i = 1; i <= length; i++) word += letters[random[w * 11 + i]! % letters.length]
    words.push(w % 16 === 15 ? `${word}\n` : `${word} `)
  }
  const bytes = Buffer.from(words.join(""))
  const starts = new Uint32Array(257)
  for (let w = 0, at = 0; w < 256; w++) {
    starts[w] = at
    at += Buffer.byteLength(words[w]!)
    starts[w + 1] = at
  }
  return { bytes, starts }
})()

const hexDigits = Buffer.from("0123456789abcdef")

const fill = (kind: Kind, cipher: Cipher, size: number): Buffer => {
  if (kind === "random") return randomBytes(cipher, size)
  const out = Buffer.allocUnsafe(size)
  if (kind === "hex") {
    const random = randomBytes(cipher, size)
    for (let i = 0; i < size; i++) out[i] = i % 65 === 64 ? 0x0a : hexDigits[random[i]! & 15]!
    return out
  }
  // Words are at least 3 bytes with their separator, so size/2 random bytes always suffice.
  const random = randomBytes(cipher, (size >> 1) + 1)
  const { bytes, starts } = vocabulary
  let at = 0
  for (let r = 0; at < size; r++) {
    const word = random[r]!
    for (let i = starts[word]!, end = starts[word + 1]!; i < end && at < size; i++) out[at++] = bytes[i]!
  }
  return out
}

/** `size` bytes of `kind`, the same for the same seed, made 1 MiB at a time. */
const contentStream = (kind: Kind, size: number, seed: string): ContentStream =>
  kind === "random"
    ? pseudoRandomContent(size, Number.parseInt(createHash("sha256").update(seed).digest("hex").slice(0, 8), 16))
    : {
      size,
      chunks: async function*() {
        const cipher = keystream(seed)
        for (let left = size; left > 0; left -= MiB) yield fill(kind, cipher, Math.min(MiB, left))
      }
    }

function* directoriesOf(file: string, seen: Set<string>): Generator<LayerEntry> {
  const parts = file.split("/").slice(0, -1)
  for (let i = 1; i <= parts.length; i++) {
    const dir = `${parts.slice(0, i).join("/")}/`
    if (!seen.has(dir)) {
      seen.add(dir)
      yield Entry.directory(dir)
    }
  }
}

function* layerEntries(index: number, layer: LayerPlan): Generator<LayerEntry> {
  const seen = new Set<string>()
  for (const parent of layer.parents) {
    seen.add(parent)
    yield Entry.directory(parent)
  }
  const cipher = keystream(`bench-layer-${index}`)
  for (let i = 0; i < layer.smallFiles; i++) {
    const leaf = Math.floor(i / filesPerDirectory)
    const dir = `${layer.root}/d${String(Math.floor(leaf / directoriesPerGroup)).padStart(2, "0")}/e${leaf % directoriesPerGroup}`
    const pick = randomBytes(cipher, 3)
    const size = 1024 + ((pick.readUInt16LE(0) * 15 * 1024) >> 16)
    const kind: Kind = pick[2]! < 154 ? "text" : pick[2]! < 205 ? "hex" : "random"
    const name = `${dir}/f${String(i).padStart(5, "0")}.${kind === "random" ? "bin" : "txt"}`
    yield* directoriesOf(name, seen)
    yield Entry.file(name, fill(kind, cipher, size), { mode: i % 7 === 0 ? 0o755 : 0o644 })
  }
  for (const file of layer.large) {
    yield* directoriesOf(file.name, seen)
    yield Entry.file(file.name, contentStream(file.kind, file.mib * MiB, `bench-${file.name}`), { mode: 0o755 })
  }
}

export interface TestImage {
  readonly image: BuiltImage
  readonly layers: ReadonlyArray<LayerFile>
  readonly smallFiles: number
  readonly largeFiles: number
}

/** Writes the five layers as `layer-N.tar.gz` under `dir`, two at a time (generation is on this thread, gzip is not). */
export const buildTestImage = async (dir: string): Promise<TestImage> => {
  const layers: Array<LayerFile> = new Array(plan.length)
  let next = 0
  const worker = async () => {
    for (let index = next++; index < plan.length; index = next++) {
      const entries = layerEntries(index, plan[index]!)
      layers[index] = await Effect.runPromise(buildLayerFile(entries, path.join(dir, `layer-${index}.tar.gz`)))
    }
  }
  await Promise.all([worker(), worker()])
  return {
    image: buildImage({ layers }),
    layers,
    smallFiles: plan.reduce((n, l) => n + l.smallFiles, 0),
    largeFiles: plan.reduce((n, l) => n + l.large.length, 0)
  }
}
