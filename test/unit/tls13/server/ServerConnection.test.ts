import * as crypto from "node:crypto"
import { beforeAll, describe, expect, it } from "vitest"
import {
  allCipherSuites,
  TLS_AES_128_GCM_SHA256,
  TLS_AES_256_GCM_SHA384,
  TLS_CHACHA20_POLY1305_SHA256
} from "../../../../src/services/Tls13/CipherSuite.js"
import type { ClientCertificateRequest } from "../../../../src/services/Tls13/handshake/client/ClientConfig.js"
import type { ClientVerificationInfo } from "../../../../src/services/Tls13/handshake/server/ServerConfig.js"
import { NamedGroup } from "../../../../src/services/Tls13/NamedGroup.js"
import { SignatureScheme } from "../../../../src/services/Tls13/SignatureScheme.js"
import { until } from "../ScriptedServer.js"
import { type Issued, issue, issueServer, type KeyKind, makeRootCa } from "../TestPki.js"
import { alertOf, clientConfig, connectInMemory, serverConfig, tagOf, text } from "./MemoryPair.js"

let root: Issued
let leaf: Issued
let clientLeaf: Issued
let otherClientLeaf: Issued

beforeAll(async () => {
  root = await makeRootCa("Server Unit Root", "p256")
  leaf = await issueServer(root)
  const clientRoot = await makeRootCa("Server Unit Client Root", "p256")
  clientLeaf = await issue(clientRoot, "ra-tls client", { kind: "rsa" })
  otherClientLeaf = await issue(clientRoot, "another client", { kind: "rsa" })
})

const challengeEntry = (): Buffer => Buffer.from(crypto.randomBytes(64).toString("base64"), "ascii")

const presentClientLeaf = async () => ({ chainDer: [clientLeaf.certificateDer], privateKey: clientLeaf.privateKey })

type Pair = ReturnType<typeof connectInMemory>

const settled = (pair: Pair) =>
  until(
    () =>
      (pair.clientEvents.connected && pair.serverEvents.connected) ||
      pair.clientEvents.failures.length + pair.serverEvents.failures.length > 0
  )

const failedBoth = (pair: Pair) =>
  until(() => pair.clientEvents.failures.length > 0 && pair.serverEvents.failures.length > 0)

describe("the server connection against the engine's client", () => {
  for (const suite of [TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256]) {
    it(`carries data both ways under ${suite.name}`, async () => {
      const pair = connectInMemory(clientConfig(root), serverConfig(leaf, { cipherSuites: [suite] }))
      await settled(pair)
      pair.client.send(Buffer.from("to server"))
      pair.server.send(Buffer.from("to client"))
      await until(() => pair.clientEvents.data.length > 0 && pair.serverEvents.data.length > 0)
      expect([text(pair.serverEvents.data), text(pair.clientEvents.data)]).toEqual(["to server", "to client"])
      expect(pair.server.session?.cipherSuite.name).toBe(suite.name)
    })
  }

  for (const [name, group] of Object.entries(NamedGroup)) {
    it(`agrees on a key over ${name} without a retry when the client's first share fits`, async () => {
      const pair = connectInMemory(clientConfig(root, { groups: [group] }), serverConfig(leaf, { groups: [group] }))
      await settled(pair)
      expect(pair.serverEvents.failures).toEqual([])
      expect([pair.server.session?.group, pair.server.session?.helloRetryRequested]).toEqual([group, false])
    })
  }

  it("asks for a P-384 share with a HelloRetryRequest when the client only sent X25519", async () => {
    const pair = connectInMemory(
      clientConfig(root, { groups: [NamedGroup.x25519, NamedGroup.secp384r1] }),
      serverConfig(leaf, { groups: [NamedGroup.secp384r1] })
    )
    await settled(pair)
    expect([pair.server.session?.group, pair.server.session?.helloRetryRequested]).toEqual([NamedGroup.secp384r1, true])
  })

  it("picks the server's favourite suite among those the client offers", async () => {
    const pair = connectInMemory(clientConfig(root, { cipherSuites: allCipherSuites }), serverConfig(leaf))
    await settled(pair)
    expect(pair.server.session?.cipherSuite.name).toBe("TLS_AES_256_GCM_SHA384")
  })

  const expectedSchemes: Record<KeyKind, number> = {
    rsa: SignatureScheme.rsa_pss_rsae_sha256,
    p256: SignatureScheme.ecdsa_secp256r1_sha256,
    p384: SignatureScheme.ecdsa_secp384r1_sha384,
    ed25519: SignatureScheme.ed25519
  }
  for (const [kind, scheme] of Object.entries(expectedSchemes) as Array<[KeyKind, number]>) {
    it(`proves a ${kind} server key with scheme 0x${scheme.toString(16)}`, async () => {
      const keyed = await issueServer(root, { kind })
      const pair = connectInMemory(clientConfig(root), serverConfig(keyed))
      await settled(pair)
      expect(pair.clientEvents.failures).toEqual([])
      expect(pair.server.session?.signatureScheme).toBe(scheme)
    })
  }
})

describe("client authentication by the server connection", () => {
  it("sends the RA-TLS challenge byte for byte and hands the proven chain to the verifier", async () => {
    const challenge = challengeEntry()
    const requests: Array<ClientCertificateRequest> = []
    const verified: Array<ClientVerificationInfo> = []
    const pair = connectInMemory(
      clientConfig(root, {
        clientCertificate: async (request) => {
          requests.push(request)
          return presentClientLeaf()
        }
      }),
      serverConfig(leaf, {
        certificateRequest: { certificateAuthorities: [challenge], required: true },
        verifyClient: async (info) => {
          verified.push(info)
        }
      })
    )
    await settled(pair)
    expect(challenge.length).toBe(88)
    const sent = requests.map((request) => request.certificateAuthorities.map((entry) => Buffer.from(entry).toString()))
    expect(sent).toEqual([[challenge.toString()]])
    const chains = verified.map((info) => Buffer.from(info.chainDer[0]!).equals(clientLeaf.certificateDer))
    expect([chains, verified.map((info) => info.certificateAuthorities)]).toEqual([[true], [[challenge]]])
    expect(pair.serverEvents.connected).toBe(true)
  })

  it("ends with access_denied and ClientRejected carrying the verifier's reason", async () => {
    const pair = connectInMemory(
      clientConfig(root, { clientCertificate: presentClientLeaf }),
      serverConfig(leaf, {
        certificateRequest: { certificateAuthorities: [challengeEntry()], required: true },
        verifyClient: async () => ({ reject: "measurements do not match" })
      })
    )
    await failedBoth(pair)
    const rejection = pair.serverEvents.failures[0] as Error & { reason?: string }
    expect([tagOf(rejection), rejection.reason]).toEqual(["ClientRejected", "measurements do not match"])
    expect([tagOf(pair.clientEvents.failures[0]), alertOf(pair.clientEvents.failures[0])]).toEqual([
      "AlertReceived",
      "access_denied"
    ])
    expect(pair.serverEvents.connected).toBe(false)
  })

  it("ends with internal_error and ClientVerifierFailed when the verifier throws", async () => {
    const pair = connectInMemory(
      clientConfig(root, { clientCertificate: presentClientLeaf }),
      serverConfig(leaf, {
        certificateRequest: { certificateAuthorities: [], required: true },
        verifyClient: () => Promise.reject(new Error("verifier down"))
      })
    )
    await failedBoth(pair)
    expect(tagOf(pair.serverEvents.failures[0])).toBe("ClientVerifierFailed")
    expect(alertOf(pair.clientEvents.failures[0])).toBe("internal_error")
  })

  it("ends with certificate_required when a required certificate is missing", async () => {
    const pair = connectInMemory(
      clientConfig(root, { clientCertificate: async () => null }),
      serverConfig(leaf, { certificateRequest: { certificateAuthorities: [], required: true } })
    )
    await failedBoth(pair)
    expect(tagOf(pair.serverEvents.failures[0])).toBe("CertificateRequired")
    expect(alertOf(pair.clientEvents.failures[0])).toBe("certificate_required")
  })

  it("completes without a client certificate when one is requested but not required", async () => {
    const verified: Array<ClientVerificationInfo> = []
    const pair = connectInMemory(
      clientConfig(root, { clientCertificate: async () => null }),
      serverConfig(leaf, {
        certificateRequest: { certificateAuthorities: [], required: false },
        verifyClient: async (info) => {
          verified.push(info)
        }
      })
    )
    await settled(pair)
    expect(pair.serverEvents.connected).toBe(true)
    expect(pair.server.session?.clientChainDer).toEqual([])
    expect(verified).toEqual([])
  })

  it("ends with decrypt_error when the client signs with a key that is not its certificate's", async () => {
    const verified: Array<ClientVerificationInfo> = []
    const pair = connectInMemory(
      clientConfig(root, {
        clientCertificate: async () => ({ chainDer: [clientLeaf.certificateDer], privateKey: otherClientLeaf.privateKey })
      }),
      serverConfig(leaf, {
        certificateRequest: { certificateAuthorities: [], required: true },
        verifyClient: async (info) => {
          verified.push(info)
        }
      })
    )
    await failedBoth(pair)
    expect(tagOf(pair.serverEvents.failures[0])).toBe("DecryptError")
    expect(alertOf(pair.clientEvents.failures[0])).toBe("decrypt_error")
    expect(verified).toEqual([])
  })

  it("ends with bad_certificate when the client's certificate is not X.509", async () => {
    const pair = connectInMemory(
      clientConfig(root, {
        clientCertificate: async () => ({ chainDer: [Buffer.from("not a certificate")], privateKey: clientLeaf.privateKey })
      }),
      serverConfig(leaf, { certificateRequest: { certificateAuthorities: [], required: true } })
    )
    await failedBoth(pair)
    expect(tagOf(pair.serverEvents.failures[0])).toBe("BadClientCertificate")
    expect(alertOf(pair.clientEvents.failures[0])).toBe("bad_certificate")
  })
})

describe("the server connection after the handshake", () => {
  it("gets the client's answer to a KeyUpdate it requested and keeps exchanging data", async () => {
    const pair = connectInMemory(clientConfig(root), serverConfig(leaf))
    await settled(pair)
    pair.server.updateKeys(true)
    pair.server.send(Buffer.from("under the new key"))
    await until(() => pair.clientEvents.data.length > 0)
    pair.client.send(Buffer.from("answer under the client's new key"))
    await until(() => pair.serverEvents.data.length > 0)
    expect(text(pair.clientEvents.data)).toBe("under the new key")
    expect(text(pair.serverEvents.data)).toBe("answer under the client's new key")
    expect(pair.server.keyGenerations).toEqual({ sent: 1, received: 1 })
  })

  it("moves only its own key on a KeyUpdate that asks for no answer", async () => {
    const pair = connectInMemory(clientConfig(root), serverConfig(leaf))
    await settled(pair)
    pair.server.updateKeys(false)
    pair.server.send(Buffer.from("ping"))
    await until(() => pair.clientEvents.data.length > 0)
    expect(text(pair.clientEvents.data)).toBe("ping")
    expect(pair.server.keyGenerations).toEqual({ sent: 1, received: 0 })
  })

  it("reports the end of the client's data on its close_notify", async () => {
    const pair = connectInMemory(clientConfig(root), serverConfig(leaf))
    await settled(pair)
    pair.client.send(Buffer.from("last words"))
    pair.client.close()
    await until(() => pair.serverEvents.closed)
    expect(text(pair.serverEvents.data)).toBe("last words")
    expect(pair.serverEvents.failures).toEqual([])
  })

  it("sends a close_notify the client reads as the end of the stream", async () => {
    const pair = connectInMemory(clientConfig(root), serverConfig(leaf))
    await settled(pair)
    pair.server.send(Buffer.from("goodbye"))
    pair.server.close()
    await until(() => pair.clientEvents.closed)
    expect(text(pair.clientEvents.data)).toBe("goodbye")
    expect(pair.clientEvents.failures).toEqual([])
  })
})
