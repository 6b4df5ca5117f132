import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as crypto from "node:crypto"
import type { ClientCertificateRequest } from "../../../../src/services/Tls13/handshake/client/ClientConfig.js"
import type { ClientVerificationInfo } from "../../../../src/services/Tls13/handshake/server/ServerConfig.js"
import { encodeClientHello } from "../../../../src/services/Tls13/messages/ClientHello.js"
import { generateKeyShare, NamedGroup } from "../../../../src/services/Tls13/NamedGroup.js"
import { ContentType, RecordLayer } from "../../../../src/services/Tls13/RecordLayer.js"
import { handshakeSignatureSchemes } from "../../../../src/services/Tls13/SignatureScheme.js"
import {
  createTls13Server,
  type FailedHandshake,
  listenTls13Scoped,
  type Tls13ServerOptions
} from "../../../../src/services/Tls13/Tls13Server.js"
import type { Tls13ServerSocket } from "../../../../src/services/Tls13/Tls13ServerSocket.js"
import { connectTls13 } from "../../../../src/services/Tls13/Tls13Socket.js"
import { type Issued, issue, issueServer, makeRootCa } from "../../../unit/tls13/TestPki.js"
import { exchange, outcomeTag } from "../ClientRun.js"
import { echo, rawExchange } from "./ServerPeers.js"

const pki = Effect.promise(async () => {
  const root = await makeRootCa("Engine Tcp Root", "p256")
  const clientRoot = await makeRootCa("Engine Tcp Client Root", "p256")
  return { root, leaf: await issueServer(root), clientLeaf: await issue(clientRoot, "ra-tls client", { kind: "rsa" }) }
}).pipe(Effect.cached, Effect.runSync)

const serve = (
  leaf: Issued,
  options: Partial<Tls13ServerOptions> = {},
  onSecure: (socket: Tls13ServerSocket) => void = echo
) =>
  Effect.gen(function* () {
    const failures: Array<FailedHandshake> = []
    const { port } = yield* listenTls13Scoped(
      {
        certificateChainPem: leaf.certificatePem,
        privateKeyPem: leaf.privateKeyPem,
        onHandshakeError: (failure) => failures.push(failure),
        ...options
      },
      onSecure
    )
    return { port, failures }
  })

const challenge = (): Buffer => Buffer.from(crypto.randomBytes(64).toString("base64"), "ascii")

const tags = (failures: ReadonlyArray<FailedHandshake>) =>
  failures.map((failure) => (failure.error as { _tag?: string })._tag ?? failure.error.message)

describe("the TLS 1.3 server engine over TCP with the engine's client", () => {
  it.scoped("draws a fresh RA-TLS challenge per connection, which the client callback sees byte for byte", () =>
    Effect.gen(function* () {
      const { clientLeaf, leaf, root } = yield* pki
      const drawn: Array<Buffer> = []
      const seen: Array<ClientCertificateRequest> = []
      const verified: Array<ClientVerificationInfo> = []
      const { port } = yield* serve(leaf, {
        certificateRequest: () => {
          drawn.push(challenge())
          return { certificateAuthorities: [drawn.at(-1)!], required: true }
        },
        verifyClient: async (info) => {
          verified.push(info)
        }
      })
      for (let connection = 0; connection < 2; connection++) {
        const outcome = yield* Effect.promise(() =>
          exchange({
            host: "127.0.0.1",
            port,
            rootCertificates: [root.certificatePem],
            clientCertificate: async (request) => {
              seen.push(request)
              return { chainDer: [clientLeaf.certificateDer], privateKey: clientLeaf.privateKey }
            }
          })
        )
        expect(outcome).toEqual({ _tag: "Received", data: Buffer.from("ping") })
      }
      expect(drawn.map((entry) => entry.length)).toEqual([88, 88])
      expect(drawn[0]!.equals(drawn[1]!)).toBe(false)
      expect(seen.map((request) => request.certificateAuthorities.map((entry) => Buffer.from(entry).toString()))).toEqual(
        drawn.map((entry) => [entry.toString()])
      )
      expect(verified.map((info) => Buffer.from(info.chainDer[0]!).equals(clientLeaf.certificateDer))).toEqual([true, true])
    })
  )

  it.scoped("gives the client AlertReceived access_denied when the verifier rejects it", () =>
    Effect.gen(function* () {
      const { clientLeaf, leaf, root } = yield* pki
      const { failures, port } = yield* serve(leaf, {
        certificateRequest: () => ({ certificateAuthorities: [challenge()], required: true }),
        verifyClient: async () => ({ reject: "realm measurements not endorsed" })
      })
      const outcome = yield* Effect.promise(() =>
        exchange({
          host: "127.0.0.1",
          port,
          rootCertificates: [root.certificatePem],
          clientCertificate: async () => ({ chainDer: [clientLeaf.certificateDer], privateKey: clientLeaf.privateKey })
        })
      )
      expect(outcomeTag(outcome)).toBe("AlertReceived")
      expect(outcome._tag === "Failed" && (outcome.error as unknown as { alert: string }).alert).toBe("access_denied")
      expect(failures.map((failure) => failure.error.message)).toEqual(["client rejected: realm measurements not endorsed"])
    })
  )

  it.scoped("has the client answer a KeyUpdate the server requests, with data flowing after it", () =>
    Effect.gen(function* () {
      const { leaf, root } = yield* pki
      const served = yield* Deferred.make<{ received: string; generations: unknown }>()
      const { port } = yield* serve(leaf, {}, (socket) => {
        const chunks: Array<Buffer> = []
        socket.on("data", (chunk: Buffer) => {
          chunks.push(chunk)
          if (chunks.length === 1) {
            socket.updateKeys(true)
            socket.write("second")
          }
        })
        socket.on("end", () => {
          Deferred.unsafeDone(
            served,
            Effect.succeed({ received: Buffer.concat(chunks).toString(), generations: socket.keyGenerations })
          )
          socket.end()
        })
      })
      const client = connectTls13({ host: "127.0.0.1", port, rootCertificates: [root.certificatePem] })
      yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
      client.on("secureConnect", () => client.write("first;"))
      client.on("data", (chunk: Buffer) => {
        if (chunk.toString() === "second") client.end("third")
      })
      expect(yield* Deferred.await(served)).toEqual({ received: "first;third", generations: { sent: 1, received: 1 } })
    })
  )
})

const helloRecord = (): Buffer => {
  const share = generateKeyShare(NamedGroup.x25519)
  const hello = encodeClientHello({
    random: crypto.randomBytes(32),
    sessionId: new Uint8Array(0),
    cipherSuites: [0x1301],
    serverName: "localhost",
    supportedVersions: [0x0304],
    supportedGroups: [NamedGroup.x25519],
    keyShares: [{ group: share.group, keyExchange: share.publicKey }],
    signatureAlgorithms: handshakeSignatureSchemes,
    signatureAlgorithmsCert: [],
    cookie: undefined
  })
  return Buffer.concat(new RecordLayer().encode(ContentType.handshake, hello))
}

describe("the TLS 1.3 server survives failed handshakes", () => {
  it.scoped("answers garbage with a decode_error alert, logs DecodeError and still serves the next client", () =>
    Effect.gen(function* () {
      const { leaf, root } = yield* pki
      const { failures, port } = yield* serve(leaf)
      const answer = yield* Effect.promise(() => rawExchange(port, Buffer.from("SSH-2.0-OpenSSH_9.6\r\n"), false))
      expect([...answer]).toEqual([ContentType.alert, 3, 3, 0, 2, 2, 50])
      expect(tags(failures)).toEqual(["DecodeError"])
      const next = yield* Effect.promise(() =>
        exchange({ host: "127.0.0.1", port, rootCertificates: [root.certificatePem] })
      )
      expect(next._tag).toBe("Received")
    })
  )

  it.scoped("logs TruncatedStream for a client that leaves in the middle of its ClientHello", () =>
    Effect.gen(function* () {
      const { leaf } = yield* pki
      const { failures, port } = yield* serve(leaf)
      const hello = helloRecord()
      yield* Effect.promise(() => rawExchange(port, hello.subarray(0, hello.length - 10), true))
      expect(tags(failures)).toEqual(["TruncatedStream"])
    })
  )

  it.scoped("closes a connection whose handshake does not finish in time and logs HandshakeAborted", () =>
    Effect.gen(function* () {
      const { leaf } = yield* pki
      const { failures, port } = yield* serve(leaf, { handshakeTimeout: 200 })
      const hello = helloRecord()
      const answer = yield* Effect.promise(() => rawExchange(port, hello.subarray(0, 20), false))
      expect(answer[answer.length - 1]).toBe(90)
      expect(tags(failures)).toEqual(["HandshakeAborted"])
    })
  )

  it("refuses at creation a key that does not belong to the certificate", async () => {
    const { clientLeaf, leaf } = await Effect.runPromise(pki)
    expect(() =>
      createTls13Server({ certificateChainPem: leaf.certificatePem, privateKeyPem: clientLeaf.privateKeyPem }, echo)
    ).toThrow(expect.objectContaining({ _tag: "InvalidServerCredential" }))
  })
})
