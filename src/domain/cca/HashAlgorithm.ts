// Hash algorithms as CCA claims (44236, 44240, 2402) and reference-value files name them: the text
// identifiers of the IANA "Named Information Hash Algorithm" registry, mapped to node:crypto.
import { createHash } from "node:crypto"
import { Option, Schema } from "effect"

export const HashAlgorithm = Schema.Literal("sha-256", "sha-384", "sha-512").annotations({
  message: () => ({ message: "expected sha-256, sha-384 or sha-512", override: true })
})
export type HashAlgorithm = typeof HashAlgorithm.Type

const nodeName: Record<HashAlgorithm, string> = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" }

const byteLength: Record<HashAlgorithm, number> = { "sha-256": 32, "sha-384": 48, "sha-512": 64 }

export const parse = (name: string): Option.Option<HashAlgorithm> =>
  Schema.is(HashAlgorithm)(name) ? Option.some(name) : Option.none()

export const length = (algorithm: HashAlgorithm): number => byteLength[algorithm]

export const digest = (algorithm: HashAlgorithm, bytes: Uint8Array): Uint8Array =>
  new Uint8Array(createHash(nodeName[algorithm]).update(bytes).digest())
