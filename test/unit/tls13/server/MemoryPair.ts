// The engine's client and server connections talking through asynchronous in-memory delivery, with what
// each side observed; and the server's configuration for a test certificate.
import { allCipherSuites } from "../../../../src/services/Tls13/CipherSuite.js"
import { CertificateVerifier } from "../../../../src/services/Tls13/CertificateVerifier.js"
import { ClientConnection, type ConnectionCallbacks } from "../../../../src/services/Tls13/ClientConnection.js"
import type { ClientConfig } from "../../../../src/services/Tls13/handshake/client/ClientConfig.js"
import {
  type ServerConfig,
  serverCipherSuitePreference
} from "../../../../src/services/Tls13/handshake/server/ServerConfig.js"
import { allNamedGroups } from "../../../../src/services/Tls13/NamedGroup.js"
import { ServerConnection } from "../../../../src/services/Tls13/ServerConnection.js"
import type { Issued } from "../TestPki.js"

export interface PeerEvents {
  readonly data: Array<Buffer>
  readonly failures: Array<Error>
  connected: boolean
  closed: boolean
}

const recorder = (events: PeerEvents, deliver: (bytes: Buffer) => void): ConnectionCallbacks => ({
  write: (records) => {
    const bytes = Buffer.concat(records)
    setImmediate(() => deliver(bytes))
  },
  handshakeComplete: () => {
    events.connected = true
  },
  data: (chunk) => events.data.push(chunk),
  closeNotify: () => {
    events.closed = true
  },
  failure: (error) => events.failures.push(error)
})

const newEvents = (): PeerEvents => ({ data: [], failures: [], connected: false, closed: false })

export const connectInMemory = (clientConfig: ClientConfig, serverConfig: ServerConfig) => {
  const clientEvents = newEvents()
  const serverEvents = newEvents()
  let server: ServerConnection | undefined
  const client = new ClientConnection(clientConfig, recorder(clientEvents, (bytes) => server!.receive(bytes)))
  server = new ServerConnection(serverConfig, recorder(serverEvents, (bytes) => client.receive(bytes)))
  client.start()
  return { client, server, clientEvents, serverEvents }
}

/** A server connection alone, recording the bytes it writes. */
export const lonelyServer = (config: ServerConfig) => {
  const events = newEvents()
  const written: Array<Buffer> = []
  const server = new ServerConnection(config, {
    ...recorder(events, () => undefined),
    write: (records) => written.push(...records)
  })
  return { server, events, written }
}

export const serverConfig = (leaf: Issued, overrides: Partial<ServerConfig> = {}): ServerConfig => ({
  credential: { chainDer: [leaf.certificateDer], privateKey: leaf.privateKey },
  cipherSuites: serverCipherSuitePreference,
  groups: allNamedGroups,
  certificateRequest: undefined,
  verifyClient: undefined,
  ...overrides
})

export const clientConfig = (root: Issued, overrides: Partial<ClientConfig> = {}): ClientConfig => ({
  serverName: "localhost",
  verifier: new CertificateVerifier([root.certificatePem]),
  cipherSuites: allCipherSuites,
  groups: allNamedGroups,
  clientCertificate: undefined,
  ...overrides
})

export const tagOf = (error: Error | undefined): string | undefined => (error as { _tag?: string } | undefined)?._tag

export const alertOf = (error: Error | undefined): string | undefined => (error as { alert?: string } | undefined)?.alert

export const text = (chunks: ReadonlyArray<Buffer>): string => Buffer.concat(chunks).toString()
