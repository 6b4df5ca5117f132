// Small files, created and written by a worker thread while the main thread decompresses, hashes and
// parses on, as `tar` runs beside `gunzip` in a shell pipeline. Creating a file costs the kernel hundreds
// of microseconds: done on the main thread that time would stall everything else, and done as awaited
// thread-pool calls it would add four round trips per file and starve the decompressor of threads. Files
// go over in batches, their bodies packed into slabs that move to the worker and back, so that memory
// stays bounded and nothing is allocated per file. The lane keeps the tree consistent for the
// synchronous code around it: a path is only handed over once its parents exist, and that code waits for
// the lane (`pending`, `onProgress`) before it looks at or changes a path still being written.
import { Worker } from "node:worker_threads"
import type { Metadata } from "./DirectoryMetadata.js"
import { UnpackIoError } from "./UnpackError.js"

/** The largest body the lane takes, and the size of a slab. */
export const maxFileBytes = 1024 * 1024
/** Slabs in flight before the lane counts as full. */
const maxSlabs = 6

export interface NewFile {
  readonly target: string
  readonly flags: number
  readonly metadata: Metadata
  /** The body, in pieces, at most `maxFileBytes` in all. */
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly bytes: number
  /** Whether owner and mode need their own calls after the creation. */
  readonly chown: boolean
  readonly chmod: boolean
}

interface Failure {
  readonly target: string
  readonly operation: string
  readonly code: string | undefined
  readonly message: string
}

interface Done {
  readonly slab: Uint8Array
  readonly targets: ReadonlyArray<string>
  readonly failure: Failure | undefined
}

interface Slab {
  readonly buffer: Uint8Array
  used: number
  files: Array<Record<string, unknown>>
}

// The worker's whole program, as source so that it runs the same from the TypeScript sources (tests) and
// from the build. It stops at the first failure of a batch and reports it; the unpack then fails.
const workerSource = `
const { parentPort } = require("node:worker_threads")
const fs = require("node:fs")
parentPort.on("message", ({ slab, files }) => {
  let failure
  for (const file of files) {
    if (failure !== undefined) break
    let operation = "create"
    let fd
    try {
      fd = fs.openSync(file.target, file.flags, file.mode & 0o777)
      operation = "write"
      const end = file.offset + file.length
      for (let at = file.offset; at < end;) at += fs.writeSync(fd, slab, at, end - at)
      operation = "chown"
      if (file.chown) fs.fchownSync(fd, file.uid, file.gid)
      operation = "chmod"
      if (file.chmod) fs.fchmodSync(fd, file.mode)
      operation = "utimes"
      fs.futimesSync(fd, file.mtime, file.mtime)
      operation = "close"
      const open = fd
      fd = undefined
      fs.closeSync(open)
    } catch (error) {
      if (fd !== undefined) fs.closeSync(fd)
      failure = { target: file.target, operation, code: error.code, message: error.message }
    }
  }
  parentPort.postMessage({ slab, targets: files.map((file) => file.target), failure }, [slab.buffer])
})
`

export class FileLane {
  private readonly worker = new Worker(workerSource, { eval: true })
  private slabsInFlight = 0
  private readonly free: Array<Uint8Array> = []
  private current: Slab | undefined = undefined
  private failure: UnpackIoError | undefined = undefined
  private readonly writing = new Set<string>()
  private waiters: Array<() => void> = []
  private flushing = false

  constructor() {
    this.worker.unref()
    this.worker.on("message", (done: Done) => this.finish(done))
    this.worker.on("error", (cause) => this.fail(new UnpackIoError({ path: "", operation: "write", cause })))
  }

  /** Whether `hostPath` is still being written. */
  pending(hostPath: string): boolean {
    return this.writing.has(hostPath)
  }

  get idle(): boolean {
    return this.writing.size === 0
  }

  get full(): boolean {
    return this.slabsInFlight >= maxSlabs
  }

  /** Throws the first failure of a file written in the background. */
  check(): void {
    if (this.failure !== undefined) throw this.failure
  }

  /** Calls `wake` once files in flight finish (or fail). */
  onProgress(wake: () => void): void {
    this.waiters.push(wake)
  }

  /** Hands `file` over: its body is copied into the current slab. */
  write(file: NewFile): void {
    if (this.writing.size === 0) this.worker.ref()
    this.writing.add(file.target)
    let slab = this.current
    if (slab !== undefined && slab.used + file.bytes > maxFileBytes) {
      this.flush()
      slab = undefined
    }
    if (slab === undefined) {
      slab = { buffer: this.free.pop() ?? new Uint8Array(maxFileBytes), used: 0, files: [] }
      this.current = slab
      // Everything handed over in this turn of the event loop goes as one message, unless the slab fills.
      if (!this.flushing) {
        this.flushing = true
        setImmediate(() => {
          this.flushing = false
          this.flush()
        })
      }
    }
    const offset = slab.used
    for (const chunk of file.chunks) {
      slab.buffer.set(chunk, slab.used)
      slab.used += chunk.length
    }
    const { metadata } = file
    slab.files.push({
      target: file.target,
      flags: file.flags,
      mode: metadata.mode,
      uid: metadata.uid,
      gid: metadata.gid,
      mtime: metadata.mtime,
      chown: file.chown,
      chmod: file.chmod,
      offset,
      length: file.bytes
    })
  }

  /** Stops the worker; files in flight may be left half-written (the staging tree is removed anyway). */
  close(): Promise<void> {
    return this.worker.terminate().then(() => undefined)
  }

  private flush() {
    const slab = this.current
    if (slab === undefined) return
    this.current = undefined
    this.slabsInFlight += 1
    this.worker.postMessage({ slab: slab.buffer, files: slab.files }, [slab.buffer.buffer as ArrayBuffer])
  }

  private fail(failure: UnpackIoError) {
    if (this.failure === undefined) this.failure = failure
    this.wake()
  }

  private finish(done: Done) {
    this.slabsInFlight -= 1
    this.free.push(done.slab)
    for (const target of done.targets) this.writing.delete(target)
    if (this.writing.size === 0) this.worker.unref()
    const failure = done.failure
    if (failure !== undefined) {
      const cause = Object.assign(new Error(failure.message), { code: failure.code })
      this.fail(new UnpackIoError({ path: failure.target, operation: failure.operation, cause }))
      return
    }
    this.wake()
  }

  private wake() {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }
}
