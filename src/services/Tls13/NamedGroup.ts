// Key exchange groups (RFC 8446 section 4.2.7-4.2.8): X25519 and the NIST curves P-256 and P-384, with key
// shares made and combined by node:crypto. The same KeyShare serves the client and a future server role.
import * as crypto from "node:crypto"
import { IllegalParameter } from "./Tls13Error.js"

export const NamedGroup = {
  secp256r1: 0x0017,
  secp384r1: 0x0018,
  x25519: 0x001d
} as const
export type NamedGroup = (typeof NamedGroup)[keyof typeof NamedGroup]

/** Preference order when the caller does not choose: X25519 first, as every modern peer supports it. */
export const allNamedGroups: ReadonlyArray<NamedGroup> = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1]

export const isNamedGroup = (code: number): code is NamedGroup => (allNamedGroups as ReadonlyArray<number>).includes(code)

export interface KeyShare {
  readonly group: NamedGroup
  /** Our public value as it goes into a key_share entry. */
  readonly publicKey: Uint8Array
  /** The shared secret with the peer's key_share value; a malformed or invalid value is an IllegalParameter. */
  deriveSharedSecret(peerPublicKey: Uint8Array): Uint8Array
}

const x25519Share = (): KeyShare => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("x25519")
  const jwk = publicKey.export({ format: "jwk" })
  return {
    group: NamedGroup.x25519,
    publicKey: Buffer.from(jwk.x!, "base64url"),
    deriveSharedSecret(peer) {
      if (peer.length !== 32) throw new IllegalParameter({ reason: `X25519 key share of ${peer.length} bytes` })
      let secret: Buffer
      try {
        const peerKey = crypto.createPublicKey({
          key: { kty: "OKP", crv: "X25519", x: Buffer.from(peer).toString("base64url") },
          format: "jwk"
        })
        secret = crypto.diffieHellman({ privateKey, publicKey: peerKey })
      } catch {
        throw new IllegalParameter({ reason: "X25519 key share rejected" })
      }
      if (secret.every((byte) => byte === 0)) throw new IllegalParameter({ reason: "X25519 shared secret is zero" })
      return secret
    }
  }
}

const ecdhShare = (group: NamedGroup, curve: string, pointLength: number): KeyShare => {
  const ecdh = crypto.createECDH(curve)
  ecdh.generateKeys()
  return {
    group,
    publicKey: ecdh.getPublicKey(),
    deriveSharedSecret(peer) {
      if (peer.length !== pointLength || peer[0] !== 4) {
        throw new IllegalParameter({ reason: `${curve} key share is not an uncompressed point` })
      }
      try {
        return ecdh.computeSecret(peer)
      } catch {
        throw new IllegalParameter({ reason: `${curve} key share is not a point on the curve` })
      }
    }
  }
}

export const generateKeyShare = (group: NamedGroup): KeyShare => {
  switch (group) {
    case NamedGroup.x25519:
      return x25519Share()
    case NamedGroup.secp256r1:
      return ecdhShare(group, "prime256v1", 65)
    case NamedGroup.secp384r1:
      return ecdhShare(group, "secp384r1", 97)
  }
}
