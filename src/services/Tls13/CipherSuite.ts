// The TLS 1.3 cipher suites this engine speaks (RFC 8446 appendix B.4): an AEAD and the hash of the key schedule.
// Node names the AEAD and the hash; everything else derives key and IV lengths from here.
export type HashName = "sha256" | "sha384"
export type AeadName = "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305"

export interface CipherSuite {
  readonly code: number
  readonly name: string
  readonly hash: HashName
  readonly hashLength: number
  readonly aead: AeadName
  readonly keyLength: number
}

export const TLS_AES_128_GCM_SHA256: CipherSuite = {
  code: 0x1301,
  name: "TLS_AES_128_GCM_SHA256",
  hash: "sha256",
  hashLength: 32,
  aead: "aes-128-gcm",
  keyLength: 16
}

export const TLS_AES_256_GCM_SHA384: CipherSuite = {
  code: 0x1302,
  name: "TLS_AES_256_GCM_SHA384",
  hash: "sha384",
  hashLength: 48,
  aead: "aes-256-gcm",
  keyLength: 32
}

export const TLS_CHACHA20_POLY1305_SHA256: CipherSuite = {
  code: 0x1303,
  name: "TLS_CHACHA20_POLY1305_SHA256",
  hash: "sha256",
  hashLength: 32,
  aead: "chacha20-poly1305",
  keyLength: 32
}

/** In order of preference when the caller does not choose. */
export const allCipherSuites: ReadonlyArray<CipherSuite> = [
  TLS_AES_128_GCM_SHA256,
  TLS_AES_256_GCM_SHA384,
  TLS_CHACHA20_POLY1305_SHA256
]

export const ivLength = 12
export const tagLength = 16

export const cipherSuiteByCode = (code: number): CipherSuite | undefined =>
  allCipherSuites.find((suite) => suite.code === code)
