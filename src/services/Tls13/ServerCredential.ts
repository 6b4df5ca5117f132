// The server's certificate chain and private key, read once from PEM when a server is created, so that a
// mismatched or unreadable credential fails at start-up with a typed error instead of in every handshake.
import * as crypto from "node:crypto"
import { Data } from "effect"

export interface ServerCredential {
  /** DER certificates, the server's own first. */
  readonly chainDer: ReadonlyArray<Uint8Array>
  readonly privateKey: crypto.KeyObject
}

export class InvalidServerCredential extends Data.TaggedError("InvalidServerCredential")<{ readonly reason: string }> {
  override get message() {
    return `invalid server credential: ${this.reason}`
  }
}

const pemCertificates = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** Reads a PEM chain (leaf first, intermediates after) and a PEM private key that must belong to the leaf. */
export const readServerCredential = (certificateChainPem: string, privateKeyPem: string): ServerCredential => {
  const blocks = certificateChainPem.match(pemCertificates) ?? []
  if (blocks.length === 0) throw new InvalidServerCredential({ reason: "no PEM certificate in the chain" })
  const chain = blocks.map((block, position) => {
    try {
      return new crypto.X509Certificate(block)
    } catch {
      throw new InvalidServerCredential({ reason: `certificate ${position} of the chain does not parse` })
    }
  })
  let privateKey: crypto.KeyObject
  try {
    privateKey = crypto.createPrivateKey(privateKeyPem)
  } catch {
    throw new InvalidServerCredential({ reason: "the private key does not parse" })
  }
  if (!chain[0]!.checkPrivateKey(privateKey)) {
    throw new InvalidServerCredential({ reason: "the private key does not belong to the first certificate" })
  }
  return { chainDer: chain.map((certificate) => new Uint8Array(certificate.raw)), privateKey }
}
