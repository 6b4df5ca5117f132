// The TLS 1.3 client engine as a node:stream Duplex over a net.Socket, shaped like a tls.TLSSocket far
// enough for node:http (Agent.createConnection, keep-alive, timeouts): 'secureConnect' when the server is
// authenticated and the handshake done, typed errors on 'error'.
import { Effect, type Scope } from "effect"
import * as net from "node:net"
import { CertificateVerifier, InvalidRootCertificate } from "./CertificateVerifier.js"
import { allCipherSuites, type CipherSuite } from "./CipherSuite.js"
import { ClientConnection, type Tls13Failure } from "./ClientConnection.js"
import type { ClientCertificateCallback } from "./handshake/client/ClientConfig.js"
import { allNamedGroups, type NamedGroup } from "./NamedGroup.js"
import { Tls13Duplex } from "./Tls13Duplex.js"

export interface Tls13ConnectOptions {
  readonly host: string
  readonly port: number
  /** Name the server certificate must match (and the SNI); defaults to `host`. */
  readonly servername?: string
  /** PEM root certificates the server chain must lead to. */
  readonly rootCertificates: ReadonlyArray<string>
  readonly clientCertificate?: ClientCertificateCallback
  /** Offered suites, in preference order; defaults to all three TLS 1.3 suites. */
  readonly cipherSuites?: ReadonlyArray<CipherSuite>
  /** Offered groups, in preference order; the first gets a key share in the first ClientHello. */
  readonly groups?: ReadonlyArray<NamedGroup>
  readonly signal?: AbortSignal
  /** Milliseconds the TCP connect plus handshake may take. */
  readonly timeout?: number
}

export class Tls13Socket extends Tls13Duplex<ClientConnection> {
  /** True once the server is authenticated and the handshake complete. */
  authorized = false

  constructor(
    socket: net.Socket,
    options: Omit<Tls13ConnectOptions, "host" | "port"> & { readonly servername: string }
  ) {
    super(
      socket,
      (callbacks) =>
        new ClientConnection(
          {
            serverName: options.servername,
            verifier: new CertificateVerifier(options.rootCertificates),
            cipherSuites: options.cipherSuites ?? allCipherSuites,
            groups: options.groups ?? allNamedGroups,
            clientCertificate: options.clientCertificate
          },
          callbacks
        ),
      {
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
        ...(options.signal === undefined ? {} : { signal: options.signal })
      }
    )
    if (socket.connecting) socket.once("connect", () => this.connection.start())
    else this.connection.start()
  }

  protected announceSecure(): void {
    this.authorized = true
    this.emit("secureConnect")
    this.emit("connect")
  }
}

/**
 * Opens a TCP connection and runs the TLS 1.3 client handshake over it.
 * Throws InvalidRootCertificate at once when a configured root does not parse; every later failure is an
 * 'error' event carrying a Tls13Failure.
 */
export const connectTls13 = (options: Tls13ConnectOptions): Tls13Socket =>
  new Tls13Socket(net.connect({ host: options.host, port: options.port }), {
    ...options,
    servername: options.servername ?? options.host
  })

/**
 * Connects and waits for the handshake inside a Scope: the socket is destroyed when the scope closes, and a
 * handshake failure is the typed error the socket reported.
 */
export const connectTls13Scoped = (
  options: Tls13ConnectOptions
): Effect.Effect<Tls13Socket, Tls13Failure | InvalidRootCertificate, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Tls13Socket, Tls13Failure | InvalidRootCertificate>((resume) => {
      let socket: Tls13Socket
      try {
        socket = connectTls13(options)
      } catch (error) {
        if (error instanceof InvalidRootCertificate) return resume(Effect.fail(error))
        throw error
      }
      const onError = (error: Error) => resume(Effect.fail(error as Tls13Failure))
      socket.once("error", onError)
      socket.once("secureConnect", () => {
        socket.off("error", onError)
        resume(Effect.succeed(socket))
      })
      return Effect.sync(() => socket.destroy())
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )
