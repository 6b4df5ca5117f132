/**
 * Progress of an unpack on stderr: one redrawn bar per layer (bytes, rate) when stderr is a terminal,
 * one plain line per finished layer otherwise, so logs and CI output stay readable.
 */
import type { UnpackProgress } from "../services/Unpacker/Unpacker.js"

export interface LayerLine {
  readonly digest: string
  readonly size: number
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

export const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 ? mib(bytes) : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`

const shortDigest = (digest: string) => digest.replace(/^(sha\d+:)(.{12}).*$/, "$1$2")

export class ProgressView {
  private readonly downloaded: Array<number>
  private readonly applied: Array<boolean>
  private readonly started = Date.now()
  private drawn = 0
  private lastDraw = 0

  constructor(
    private readonly layers: ReadonlyArray<LayerLine>,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly interactive: boolean = out.isTTY === true
  ) {
    this.downloaded = layers.map(() => 0)
    this.applied = layers.map(() => false)
  }

  readonly onProgress = (event: UnpackProgress): void => {
    if (event._tag === "LayerBytes") {
      this.downloaded[event.layer] = event.downloaded
      if (this.interactive) this.draw(false)
      return
    }
    this.applied[event.layer] = true
    if (this.interactive) this.draw(true)
    else {
      const layer = this.layers[event.layer]
      this.out.write(
        `layer ${event.layersDone}/${event.layersTotal} ${shortDigest(event.digest)} ${formatBytes(layer?.size ?? 0)} unpacked\n`
      )
    }
  }

  /** Leaves the bars in their final state. */
  finish(): void {
    if (this.interactive) this.draw(true)
  }

  private draw(force: boolean): void {
    const now = Date.now()
    if (!force && now - this.lastDraw < 100) return
    this.lastDraw = now
    const seconds = Math.max((now - this.started) / 1000, 0.001)
    const lines = this.layers.map((layer, index) => {
      const done = this.downloaded[index] ?? 0
      const fraction = layer.size === 0 ? 1 : Math.min(done / layer.size, 1)
      const width = 24
      const filled = Math.round(fraction * width)
      const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`
      const state = this.applied[index] ? "done" : done === 0 ? "waiting" : `${mib(done / seconds)}/s`
      return `${shortDigest(layer.digest)} [${bar}] ${formatBytes(done).padStart(10)} / ${formatBytes(layer.size).padEnd(10)} ${state}`
    })
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : ""
    this.out.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(""))
    this.drawn = lines.length
  }
}
