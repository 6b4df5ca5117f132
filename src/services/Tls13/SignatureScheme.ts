// Signature schemes (RFC 8446 section 4.2.3) for CertificateVerify: which key each scheme needs, and
// signing / verifying the "TLS 1.3, <role> CertificateVerify" content with node:crypto.
import * as crypto from "node:crypto"
import { IllegalParameter } from "./Tls13Error.js"

export const SignatureScheme = {
  rsa_pkcs1_sha256: 0x0401,
  rsa_pkcs1_sha384: 0x0501,
  rsa_pkcs1_sha512: 0x0601,
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  ecdsa_secp521r1_sha512: 0x0603,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  rsa_pss_rsae_sha512: 0x0806,
  ed25519: 0x0807,
  ed448: 0x0808,
  rsa_pss_pss_sha256: 0x0809,
  rsa_pss_pss_sha384: 0x080a,
  rsa_pss_pss_sha512: 0x080b
} as const

interface SchemeSpec {
  readonly keyType: "ec" | "rsa" | "rsa-pss" | "ed25519" | "ed448"
  readonly hash: "sha256" | "sha384" | "sha512" | null
  readonly curve?: string
}

const handshakeSchemes = new Map<number, SchemeSpec>([
  [SignatureScheme.ecdsa_secp256r1_sha256, { keyType: "ec", hash: "sha256", curve: "prime256v1" }],
  [SignatureScheme.ecdsa_secp384r1_sha384, { keyType: "ec", hash: "sha384", curve: "secp384r1" }],
  [SignatureScheme.ecdsa_secp521r1_sha512, { keyType: "ec", hash: "sha512", curve: "secp521r1" }],
  [SignatureScheme.ed25519, { keyType: "ed25519", hash: null }],
  [SignatureScheme.ed448, { keyType: "ed448", hash: null }],
  [SignatureScheme.rsa_pss_rsae_sha256, { keyType: "rsa", hash: "sha256" }],
  [SignatureScheme.rsa_pss_rsae_sha384, { keyType: "rsa", hash: "sha384" }],
  [SignatureScheme.rsa_pss_rsae_sha512, { keyType: "rsa", hash: "sha512" }],
  [SignatureScheme.rsa_pss_pss_sha256, { keyType: "rsa-pss", hash: "sha256" }],
  [SignatureScheme.rsa_pss_pss_sha384, { keyType: "rsa-pss", hash: "sha384" }],
  [SignatureScheme.rsa_pss_pss_sha512, { keyType: "rsa-pss", hash: "sha512" }]
])

/** What we accept in CertificateVerify, in preference order (PKCS#1 v1.5 is not allowed there in TLS 1.3). */
export const handshakeSignatureSchemes: ReadonlyArray<number> = [...handshakeSchemes.keys()]

/** What we accept in certificate signatures: the above plus PKCS#1 v1.5, which CAs still use. */
export const certificateSignatureSchemes: ReadonlyArray<number> = [
  ...handshakeSignatureSchemes,
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512
]

const hashLength = { sha256: 32, sha384: 48, sha512: 64 } as const

/** 64 spaces, the context string, a zero byte and the transcript hash (RFC 8446 section 4.4.3). */
export const signedContent = (role: "server" | "client", transcriptHash: Uint8Array): Buffer =>
  Buffer.concat([
    Buffer.alloc(64, 0x20),
    Buffer.from(`TLS 1.3, ${role} CertificateVerify`, "ascii"),
    Buffer.alloc(1),
    transcriptHash
  ])

const fits = (spec: SchemeSpec, key: crypto.KeyObject): boolean =>
  key.asymmetricKeyType === spec.keyType &&
  (spec.curve === undefined || key.asymmetricKeyDetails?.namedCurve === spec.curve)

const keyOptions = (spec: SchemeSpec, key: crypto.KeyObject) =>
  spec.keyType === "rsa" || spec.keyType === "rsa-pss"
    ? { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: hashLength[spec.hash!] }
    : { key }

/** Verifies a CertificateVerify signature; a scheme that does not fit the key is an IllegalParameter. */
export const verifySignature = (
  scheme: number,
  publicKey: crypto.KeyObject,
  content: Uint8Array,
  signature: Uint8Array
): boolean => {
  const spec = handshakeSchemes.get(scheme)
  if (spec === undefined) throw new IllegalParameter({ reason: `signature scheme 0x${scheme.toString(16)} not offered` })
  if (!fits(spec, publicKey)) {
    throw new IllegalParameter({ reason: `signature scheme 0x${scheme.toString(16)} does not match the certificate key` })
  }
  try {
    return crypto.verify(spec.hash, content, keyOptions(spec, publicKey), signature)
  } catch {
    return false
  }
}

/** The first scheme the peer accepts that our private key can produce, if any. */
export const chooseScheme = (privateKey: crypto.KeyObject, peerSchemes: ReadonlyArray<number>): number | undefined =>
  handshakeSignatureSchemes.find((scheme) => peerSchemes.includes(scheme) && fits(handshakeSchemes.get(scheme)!, privateKey))

export const sign = (scheme: number, privateKey: crypto.KeyObject, content: Uint8Array): Buffer => {
  const spec = handshakeSchemes.get(scheme)
  if (spec === undefined) throw new Error(`cannot sign with unknown scheme 0x${scheme.toString(16)}`)
  return crypto.sign(spec.hash, content, keyOptions(spec, privateKey))
}
