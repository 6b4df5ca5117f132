import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ClientVerificationInfo } from "../../../../src/services/Tls13/handshake/server/ServerConfig.js"
import type { ServerSession } from "../../../../src/services/Tls13/handshake/server/ServerSession.js"
import {
  TLS_AES_128_GCM_SHA256,
  TLS_AES_256_GCM_SHA384,
  TLS_CHACHA20_POLY1305_SHA256
} from "../../../../src/services/Tls13/CipherSuite.js"
import { NamedGroup } from "../../../../src/services/Tls13/NamedGroup.js"
import {
  type FailedHandshake,
  listenTls13Scoped,
  type Tls13ServerOptions
} from "../../../../src/services/Tls13/Tls13Server.js"
import type { Tls13ServerSocket } from "../../../../src/services/Tls13/Tls13ServerSocket.js"
import { type Issued, issue, issueServer, type KeyKind, makeRootCa } from "../../../unit/tls13/TestPki.js"
import { echo, nodeExchange } from "./ServerPeers.js"

const pki = Effect.promise(async () => {
  const root = await makeRootCa("Node Interop Server Root", "p256")
  const clientRoot = await makeRootCa("Node Interop Client Root", "p384")
  const clientLeaf = await issue(clientRoot, "node client", { kind: "p256" })
  return { root, clientRoot, leaf: await issueServer(root), clientLeaf }
}).pipe(Effect.cached, Effect.runSync)

/** Starts the engine's server with `leaf`, recording the sessions of secure connections and failed handshakes. */
const serve = (leaf: Issued, options: Partial<Tls13ServerOptions> = {}) =>
  Effect.gen(function* () {
    const sessions: Array<ServerSession | undefined> = []
    const failures: Array<FailedHandshake> = []
    const { port } = yield* listenTls13Scoped(
      {
        certificateChainPem: leaf.certificatePem,
        privateKeyPem: leaf.privateKeyPem,
        onHandshakeError: (failure) => failures.push(failure),
        ...options
      },
      (socket: Tls13ServerSocket) => {
        sessions.push(socket.session)
        echo(socket)
      }
    )
    return { port, sessions, failures }
  })

const exchange = (port: number, root: Issued, options: Parameters<typeof nodeExchange>[1] = {}) =>
  Effect.promise(() => nodeExchange(port, { ca: root.certificatePem, ...options }))

const received = (data = "ping") => expect.objectContaining({ _tag: "Received", data: Buffer.from(data) })

describe("the TLS 1.3 server engine against Node's TLS client", () => {
  for (const suite of [TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256]) {
    it.scoped(`echoes under ${suite.name} when the server accepts only that suite`, () =>
      Effect.gen(function* () {
        const { leaf, root } = yield* pki
        const { port } = yield* serve(leaf, { cipherSuites: [suite] })
        const outcome = yield* exchange(port, root)
        expect(outcome).toEqual(received())
        expect(outcome._tag === "Received" && outcome.cipher).toBe(suite.name)
      })
    )
  }

  for (const [curve, group] of [
    ["X25519", NamedGroup.x25519],
    ["P-256", NamedGroup.secp256r1],
    ["P-384", NamedGroup.secp384r1]
  ] as const) {
    it.scoped(`agrees on ${curve} with a client that only offers ${curve}`, () =>
      Effect.gen(function* () {
        const { leaf, root } = yield* pki
        const { port, sessions } = yield* serve(leaf)
        expect(yield* exchange(port, root, { ecdhCurve: curve })).toEqual(received())
        expect(sessions.map((session) => [session?.group, session?.helloRetryRequested])).toEqual([[group, false]])
      })
    )
  }

  it.scoped("sends a HelloRetryRequest for P-384 to a client whose first share is X25519", () =>
    Effect.gen(function* () {
      const { leaf, root } = yield* pki
      const { port, sessions } = yield* serve(leaf, { groups: [NamedGroup.secp384r1] })
      const outcome = yield* exchange(port, root, { ecdhCurve: "X25519:P-384" })
      expect(outcome).toEqual(received())
      expect(outcome._tag === "Received" && outcome.curve).toBe("secp384r1")
      expect(sessions.map((session) => session?.helloRetryRequested)).toEqual([true])
    })
  )

  for (const kind of ["rsa", "p256", "p384", "ed25519"] as const satisfies ReadonlyArray<KeyKind>) {
    it.scoped(`is authenticated by Node with a ${kind} server key`, () =>
      Effect.gen(function* () {
        const { root } = yield* pki
        const keyed = yield* Effect.promise(() => issueServer(root, { kind }))
        const { port } = yield* serve(keyed)
        expect(yield* exchange(port, root)).toEqual(received())
      })
    )
  }

  it.scoped("names its client CA as a DER Name that OpenSSL parses, and hands Node's certificate to the verifier", () =>
    Effect.gen(function* () {
      const { clientLeaf, clientRoot, leaf, root } = yield* pki
      const caName = new Uint8Array(new x509.X509Certificate(clientRoot.certificateDer).subjectName.toArrayBuffer())
      const verified: Array<ClientVerificationInfo> = []
      const { port, sessions } = yield* serve(leaf, {
        certificateRequest: () => ({ certificateAuthorities: [caName], required: true }),
        verifyClient: async (info) => {
          verified.push(info)
        }
      })
      const outcome = yield* exchange(port, root, { cert: clientLeaf.certificatePem, key: clientLeaf.privateKeyPem })
      expect(outcome).toEqual(received())
      const chains = verified.map((info) => Buffer.from(info.chainDer[0]!).equals(clientLeaf.certificateDer))
      expect([chains, verified.map((info) => info.certificateAuthorities)]).toEqual([[true], [[caName]]])
      expect(sessions.map((session) => session?.clientChainDer.length)).toEqual([1])
    })
  )

  it.scoped("refuses a Node client without a certificate with certificate_required", () =>
    Effect.gen(function* () {
      const { leaf, root } = yield* pki
      const { failures, port } = yield* serve(leaf, {
        certificateRequest: () => ({ certificateAuthorities: [], required: true })
      })
      const outcome = yield* exchange(port, root)
      expect(outcome._tag === "Failed" && outcome.code).toBe("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED")
      expect(failures.map((failure) => (failure.error as { _tag?: string })._tag)).toEqual(["CertificateRequired"])
    })
  )

  it.scoped("refuses a TLS 1.2 client with protocol_version and keeps serving", () =>
    Effect.gen(function* () {
      const { leaf, root } = yield* pki
      const { failures, port } = yield* serve(leaf)
      const old = yield* exchange(port, root, { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" })
      expect(old._tag === "Failed" && old.code).toBe("ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION")
      expect(failures.map((failure) => (failure.error as { _tag?: string })._tag)).toEqual(["UnsupportedVersion"])
      expect(yield* exchange(port, root)).toEqual(received())
    })
  )
})
