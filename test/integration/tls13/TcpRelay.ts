// A loopback TCP relay between the engine and a server that can rewrite the server's records on the way,
// and that keeps a copy of what the client sent: for tampering tests and for observing handshake messages.
import * as net from "node:net"
import { RecordReader } from "../../../src/services/Tls13/RecordLayer.js"

export interface Relay {
  readonly port: number
  /** Every byte the client sent, in order. */
  readonly fromClient: Array<Buffer>
  close(): Promise<void>
}

/** `rewrite` receives each complete server record (header included) and its index, and returns what to forward. */
export const startRelay = (
  targetPort: number,
  rewrite: (record: Buffer, index: number) => Buffer = (record) => record
): Promise<Relay> =>
  new Promise((resolve) => {
    const fromClient: Array<Buffer> = []
    const sockets = new Set<net.Socket>()
    // Half-open on both legs, so a client's FIN after close_notify does not cut the server's answer off.
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true })
      sockets.add(client).add(upstream)
      const reader = new RecordReader()
      let index = 0
      client.on("data", (chunk: Buffer) => {
        fromClient.push(chunk)
        upstream.write(chunk)
      })
      upstream.on("data", (chunk: Buffer) => {
        reader.push(chunk)
        for (let record = reader.next(); record !== undefined; record = reader.next()) {
          client.write(rewrite(Buffer.concat([record.header, record.body]), index++))
        }
      })
      client.on("end", () => upstream.end())
      upstream.on("end", () => client.end())
      client.on("error", () => upstream.destroy())
      upstream.on("error", () => client.destroy())
      client.on("close", () => upstream.destroy())
      upstream.on("close", () => client.destroy())
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        fromClient,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    )
  })

/**
 * A raw TCP server that answers the first bytes it receives with `reply`, then ends the connection;
 * without a reply it keeps the connection open and silent.
 */
export const startRawServer = (reply: Buffer | undefined): Promise<{ port: number; close(): Promise<void> }> =>
  new Promise((resolve) => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on("error", () => undefined)
      if (reply !== undefined) socket.once("data", () => socket.end(reply))
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    )
  })
