// Node's own TLS server (OpenSSL) on a loopback port, the interop peer for the engine's tests.
import * as net from "node:net"
import * as tls from "node:tls"

export interface RunningServer {
  readonly port: number
  readonly server: tls.Server
  close(): Promise<void>
}

export const startTlsServer = (
  options: tls.TlsOptions,
  onConnection: (socket: tls.TLSSocket) => void
): Promise<RunningServer> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>()
    const server = tls.createServer({ minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ...options }, onConnection)
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    server.on("tlsClientError", () => undefined)
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo
      resolve({
        port: address.port,
        server,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })

/** Echoes every byte back until the client ends. */
export const echo = (socket: tls.TLSSocket): void => {
  socket.on("error", () => undefined)
  socket.pipe(socket)
}
