// The unpacker's second thread: it creates and writes files, and hashes the tar stream, while the main
// thread downloads, inflates, parses and decides, as `tar` runs beside `gunzip` in a shell pipeline.
// Creating a file costs the kernel tens to hundreds of microseconds, and hashing a layer hundreds of
// milliseconds: on the main thread that time would stall everything else, and as awaited thread-pool calls
// it would add round trips per file. Work goes over in batches: bytes are copied into slabs of shared
// memory, reused (so memory stays bounded and nothing is allocated per file), and a message hands a slab
// to the worker with a list of operations on it, done in order. The lane keeps the tree consistent for the
// synchronous code around it: a path is only handed over once its parents exist, and that code waits for
// the lane (`pending`, `onProgress`) before it looks at or changes a path still being written.
import { Worker } from "node:worker_threads"
import type { Metadata } from "./DirectoryMetadata.js"
import { UnpackIoError } from "./UnpackError.js"

/** The size of a slab: the most bytes one batch carries. */
export const slabBytes = 1024 * 1024
/** Slabs in flight before the lane counts as full. */
const maxSlabs = 4

export interface NewFile {
  readonly target: string
  readonly flags: number
  readonly metadata: Metadata
  /** Whether owner and mode need their own calls after the creation. */
  readonly chown: boolean
  readonly chmod: boolean
}

// Operations travel as records of `opWidth` numbers in a Float64Array (strings beside them): cloning a list
// of objects for every slab cost the main thread more than the copying of the bytes.
const opWidth = 7
const OPEN = 1 // id, flags, mode, string index of the target
const WRITE = 2 // id, offset, length
const CLOSE = 3 // id, uid, gid, mode, mtime, bits (1: chown, 2: chmod)
const HASH_START = 4 // string index of the algorithm
const HASH = 5 // offset, length
const DIGEST = 6 // request

interface Failure {
  readonly target: string
  readonly operation: string
  readonly code: string | undefined
  readonly message: string
}

interface Done {
  readonly slab: number
  /** Ids of the files closed. */
  readonly closed: ReadonlyArray<number>
  readonly digests: ReadonlyArray<{ readonly request: number; readonly digest: string }>
  readonly failure: Failure | undefined
}

// The worker's whole program, as source so that it runs the same from the TypeScript sources (tests) and
// from the build. After its first failure it does nothing but report it and return slabs.
const workerSource = `
const { parentPort } = require("node:worker_threads")
const fs = require("node:fs")
const { createHash } = require("node:crypto")
const files = new Map()
const slabs = []
let hash
let failed
const fail = (target, operation, error) => {
  failed = { target, operation, code: error.code, message: error.message }
  for (const file of files.values()) try { fs.closeSync(file.fd) } catch {}
  files.clear()
}
parentPort.on("message", (message) => {
  if (message.add !== undefined) {
    slabs[message.add] = new Uint8Array(message.memory)
    return
  }
  const index = message.slab
  const slab = slabs[index]
  const ops = message.ops
  const strings = message.strings
  const closed = []
  const digests = []
  for (let at = 0; at < ops.length; at += ${opWidth}) {
    if (failed !== undefined) break
    const code = ops[at]
    if (code === ${HASH}) { hash.update(slab.subarray(ops[at + 1], ops[at + 1] + ops[at + 2])); continue }
    if (code === ${HASH_START}) { hash = createHash(strings[ops[at + 1]]); continue }
    if (code === ${DIGEST}) { digests.push({ request: ops[at + 1], digest: hash.digest("hex") }); continue }
    const id = ops[at + 1]
    const file = files.get(id)
    const target = code === ${OPEN} ? strings[ops[at + 4]] : file.target
    let operation = code === ${OPEN} ? "create" : code === ${WRITE} ? "write" : "close"
    try {
      if (code === ${OPEN}) {
        files.set(id, { target, fd: fs.openSync(target, ops[at + 2], ops[at + 3] & 0o777) })
      } else if (code === ${WRITE}) {
        const end = ops[at + 2] + ops[at + 3]
        for (let from = ops[at + 2]; from < end;) from += fs.writeSync(file.fd, slab, from, end - from)
      } else {
        files.delete(id)
        const bits = ops[at + 6]
        operation = "chown"
        if (bits & 1) fs.fchownSync(file.fd, ops[at + 2], ops[at + 3])
        operation = "chmod"
        if (bits & 2) fs.fchmodSync(file.fd, ops[at + 4])
        operation = "utimes"
        fs.futimesSync(file.fd, ops[at + 5], ops[at + 5])
        operation = "close"
        fs.closeSync(file.fd)
        closed.push(id)
      }
    } catch (error) {
      if (file !== undefined && files.has(id)) files.delete(id)
      if (file !== undefined && operation !== "close") try { fs.closeSync(file.fd) } catch {}
      fail(target, operation, error)
    }
  }
  parentPort.postMessage({ slab: index, closed, digests, failure: failed })
})
`

interface Slab {
  readonly index: number
  readonly buffer: Uint8Array
  used: number
  ops: Float64Array
  count: number
  strings: Array<string>
}

export class FileLane {
  private readonly worker = new Worker(workerSource, { eval: true })
  private slabsInFlight = 0
  // Slabs are shared memory, made once and known to the worker by index: a message carries an index, so
  // no buffer is transferred (a transferred buffer counts as new external memory, and makes V8 collect).
  private readonly buffers: Array<Uint8Array> = []
  private readonly opBuffers: Array<Float64Array> = []
  private readonly free: Array<number> = []
  private current: Slab | undefined = undefined
  private failure: UnpackIoError | undefined = undefined
  // Files handed over and not yet closed, by target path.
  private readonly writing = new Set<string>()
  private readonly opened = new Map<number, NewFile>()
  private readonly targets = new Map<number, string>()
  private nextId = 0
  private nextRequest = 0
  private readonly digestWaiters = new Map<number, (digest: string | undefined) => void>()
  private waiters: Array<() => void> = []

  constructor() {
    this.worker.unref()
    this.worker.on("message", (done: Done) => this.finish(done))
    this.worker.on("error", (cause) => this.fail(new UnpackIoError({ path: "", operation: "write", cause })))
  }

  /** Whether `hostPath` is still being written. */
  pending(hostPath: string): boolean {
    return this.writing.has(hostPath)
  }

  /** Whether everything handed over is done. */
  get idle(): boolean {
    return this.slabsInFlight === 0 && this.current === undefined
  }

  get full(): boolean {
    return this.slabsInFlight >= maxSlabs
  }

  /** Throws the first failure of the work done in the background. */
  check(): void {
    if (this.failure !== undefined) throw this.failure
  }

  /**
   * Calls `wake` once work in flight progresses (or fails). The slab being filled goes over only when none
   * is in flight: otherwise the progress comes anyway, and a caller still waiting asks again. Handing over
   * half-filled slabs at every wait cost a message per few files (1,800 messages for 200 full slabs on the
   * bench image, 120 ms of the main thread's time in postMessage alone).
   */
  onProgress(wake: () => void): void {
    this.waiters.push(wake)
    if (this.slabsInFlight === 0) this.flush()
  }

  /** Creates `file`; its body follows through `write` and ends with `end`. Returns the file's id. */
  open(file: NewFile): number {
    const id = this.nextId++
    if (this.writing.size === 0 && this.slabsInFlight === 0) this.worker.ref()
    this.writing.add(file.target)
    this.targets.set(id, file.target)
    const slab = this.slab()
    this.record(slab, OPEN, id, file.flags, file.metadata.mode, this.text(slab, file.target))
    this.opened.set(id, file)
    return id
  }

  /** Appends `bytes` to the file `id` (copied: the caller may reuse them). */
  write(id: number, bytes: Uint8Array): void {
    this.copy(bytes, (slab, offset, length) => this.record(slab, WRITE, id, offset, length))
  }

  /** Sets the owner, mode and mtime of file `id`, and closes it. */
  end(id: number): void {
    const file = this.opened.get(id)
    if (file === undefined) return
    this.opened.delete(id)
    const { metadata } = file
    const bits = (file.chown ? 1 : 0) | (file.chmod ? 2 : 0)
    this.record(this.slab(), CLOSE, id, metadata.uid, metadata.gid, metadata.mode, metadata.mtime, bits)
  }

  /** Starts a hash of the bytes given to `hash` from now on. */
  hashStart(algorithm: string): void {
    const slab = this.slab()
    this.record(slab, HASH_START, this.text(slab, algorithm))
  }

  /** Adds `bytes` to the hash (copied); with `file`, they are also appended to that file. */
  hash(bytes: Uint8Array, file?: number): void {
    this.copy(bytes, (slab, offset, length) => {
      this.record(slab, HASH, offset, length)
      if (file !== undefined) this.record(slab, WRITE, file, offset, length)
    })
  }

  /** The hex digest of the bytes hashed since `hashStart`; undefined once the lane failed (see `check`). */
  digest(): Promise<string | undefined> {
    const request = this.nextRequest++
    this.record(this.slab(), DIGEST, request)
    this.flush()
    return new Promise((resolve) => this.digestWaiters.set(request, resolve))
  }

  /** Stops the worker; files in flight may be left half-written (the staging tree is removed anyway). */
  close(): Promise<void> {
    return this.worker.terminate().then(() => undefined)
  }

  // The slab being filled. It goes over when full, when someone waits for the lane with nothing in flight
  // (`onProgress`), or for a digest (`digest`): each message wakes the worker and then the main thread,
  // which costs more than the copying.
  private slab(): Slab {
    let slab = this.current
    if (slab === undefined) {
      const index = this.free.pop() ?? this.addSlab()
      slab = { index, buffer: this.buffers[index]!, used: 0, ops: this.opBuffers[index]!, count: 0, strings: [] }
      this.current = slab
    }
    return slab
  }

  // Copies `bytes` into slabs, recording the operations on them in each slab the bytes land in.
  private copy(bytes: Uint8Array, operations: (slab: Slab, offset: number, length: number) => void) {
    let at = 0
    while (at < bytes.length) {
      let slab = this.slab()
      if (slab.used === slab.buffer.length) {
        this.flush()
        slab = this.slab()
      }
      const n = Math.min(bytes.length - at, slab.buffer.length - slab.used)
      slab.buffer.set(bytes.subarray(at, at + n), slab.used)
      operations(slab, slab.used, n)
      slab.used += n
      at += n
    }
  }

  private record(slab: Slab, code: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0) {
    let ops = slab.ops
    const at = slab.count * opWidth
    if (at + opWidth > ops.length) {
      const grown = new Float64Array(ops.length * 2)
      grown.set(ops)
      ops = grown
      slab.ops = grown
      this.opBuffers[slab.index] = grown
    }
    ops[at] = code
    ops[at + 1] = a
    ops[at + 2] = b
    ops[at + 3] = c
    ops[at + 4] = d
    ops[at + 5] = e
    ops[at + 6] = f
    slab.count += 1
  }

  private text(slab: Slab, value: string): number {
    slab.strings.push(value)
    return slab.strings.length - 1
  }

  private addSlab(): number {
    const memory = new SharedArrayBuffer(slabBytes)
    const index = this.buffers.length
    this.buffers.push(new Uint8Array(memory))
    this.opBuffers.push(new Float64Array(opWidth * 256))
    this.worker.postMessage({ add: index, memory })
    return index
  }

  private flush() {
    const slab = this.current
    if (slab === undefined) return
    this.current = undefined
    this.slabsInFlight += 1
    this.worker.ref()
    this.worker.postMessage({ slab: slab.index, ops: slab.ops.slice(0, slab.count * opWidth), strings: slab.strings })
  }

  private fail(failure: UnpackIoError) {
    if (this.failure === undefined) this.failure = failure
    for (const resolve of this.digestWaiters.values()) resolve(undefined)
    this.digestWaiters.clear()
    this.wake()
  }

  private finish(done: Done) {
    this.slabsInFlight -= 1
    this.free.push(done.slab)
    for (const id of done.closed) {
      const target = this.targets.get(id)
      this.targets.delete(id)
      if (target !== undefined) this.writing.delete(target)
    }
    if (this.idle) this.worker.unref()
    for (const { digest, request } of done.digests) {
      const resolve = this.digestWaiters.get(request)
      this.digestWaiters.delete(request)
      resolve?.(digest)
    }
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
