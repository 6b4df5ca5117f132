// Peers for the server engine's integration tests: Node's OpenSSL client and a raw TCP client, each
// reporting what happened on a loopback connection; and an echo for the server side.
import * as net from "node:net"
import * as tls from "node:tls"
import type { Tls13ServerSocket } from "../../../../src/services/Tls13/Tls13ServerSocket.js"

export type NodeOutcome =
  | {
      readonly _tag: "Received"
      readonly data: Buffer
      readonly cipher: string | undefined
      readonly curve: string | undefined
    }
  | { readonly _tag: "Failed"; readonly code: string | undefined; readonly message: string }

/** Connects with Node's TLS client (TLS 1.3 only), writes `payload`, half-closes and collects the answer. */
export const nodeExchange = (
  port: number,
  options: tls.ConnectionOptions,
  payload: Buffer | string = "ping"
): Promise<NodeOutcome> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let cipher: string | undefined
    let curve: string | undefined
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", minVersion: "TLSv1.3", ...options })
    socket.on("secureConnect", () => {
      cipher = socket.getCipher().standardName
      curve = (socket.getEphemeralKeyInfo() as { name?: string }).name
      socket.end(payload)
    })
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.on("end", () => resolve({ _tag: "Received", data: Buffer.concat(chunks), cipher, curve }))
    socket.on("error", (error: Error & { code?: string }) =>
      resolve({ _tag: "Failed", code: error.code, message: error.message })
    )
  })

/** Sends `bytes` over plain TCP (then half-closes when `end`), and collects what comes back until the close. */
export const rawExchange = (port: number, bytes: Buffer, end: boolean): Promise<Buffer> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      if (end) socket.end(bytes)
      else socket.write(bytes)
    })
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.on("error", () => undefined)
    socket.on("close", () => resolve(Buffer.concat(chunks)))
  })

/** Echoes every byte back until the client ends. */
export const echo = (socket: Tls13ServerSocket): void => {
  socket.on("error", () => undefined)
  socket.pipe(socket)
}
