// Reads a spooled gzip layer back into gunzip through a few reused buffers: gunzip copies its input, so a
// buffer is free again once gunzip has consumed it, and a pull allocates no read buffer per chunk (a
// spooled layer is hundreds of MiB that the garbage collector would otherwise have to catch up with).
import * as NodeStream from "@effect/platform-node/NodeStream"
import type { Stream } from "effect"
import * as fs from "node:fs"
import * as zlib from "node:zlib"
import { gunzipOptions } from "./LayerStream.js"
import type { LayerId } from "./UnpackError.js"
import { DecompressionFailed, UnpackIoError } from "./UnpackError.js"

// Bytes of the spool file read at once, and how many such reads may wait in gunzip.
const readChunk = 1024 * 1024
const readBuffers = 4

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

// Feeds `file` into `gunzip` and ends it; a read failure destroys gunzip with an UnpackIoError. Stops
// reading once gunzip is destroyed (the consumer stopped), and closes the file when no read is pending.
const feed = (file: string, gunzip: zlib.Gunzip): zlib.Gunzip => {
  const free: Array<Buffer> = Array.from({ length: readBuffers }, () => Buffer.allocUnsafeSlow(readChunk))
  let fd: number | undefined
  let reading = false
  let ended = false
  const closeIfIdle = () => {
    if (fd === undefined || reading || !(ended || gunzip.destroyed)) return
    fs.close(fd, () => undefined)
    fd = undefined
  }
  const fail = (operation: string, cause: unknown) => gunzip.destroy(new UnpackIoError({ path: file, operation, cause }))
  const pump = (): void => {
    if (fd === undefined || reading || ended || gunzip.destroyed) return
    const buffer = free.pop()
    if (buffer === undefined) return
    reading = true
    fs.read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
      reading = false
      if (error !== null) fail("read", error)
      else if (bytes === 0) {
        ended = true
        if (!gunzip.destroyed) gunzip.end()
      } else if (!gunzip.destroyed) {
        gunzip.write(buffer.subarray(0, bytes), () => {
          free.push(buffer)
          pump()
        })
        pump()
      }
      closeIfIdle()
    })
  }
  gunzip.once("close", closeIfIdle)
  fs.open(file, "r", (error, opened) => {
    if (error !== null) return fail("open", error)
    fd = opened
    if (gunzip.destroyed) closeIfIdle()
    else pump()
  })
  return gunzip
}

/** The inflated bytes of the spooled gzip blob `file` of layer `layer`. */
export const gunzipSpool = (layer: LayerId, file: string): Stream.Stream<Uint8Array, UnpackIoError | DecompressionFailed> =>
  NodeStream.fromReadable<UnpackIoError | DecompressionFailed, Uint8Array>(
    () => feed(file, zlib.createGunzip(gunzipOptions)),
    (cause) =>
      cause instanceof UnpackIoError ? cause : new DecompressionFailed({ layer, compression: "gzip", reason: reasonOf(cause) })
  )
