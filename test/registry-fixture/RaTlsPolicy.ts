// What the RA-TLS layout registry demands of a client's attestation (RA-TLS.md section 4): always the token
// extension, the realm signature and the RAK binding; the challenge binding unless the policy says, in its
// name, that it is lenient for static tokens; the platform key and reference values when it has them.
import type { KeyObject } from "node:crypto"
import type { ReferenceValues } from "../../src/domain/cca/ReferenceValues.js"

/**
 * "strict": the realm challenge must be SHA-512(this connection's challenge || the certificate's SPKI).
 * "skip-for-static-tokens": that check is skipped, so a token made once for a fixed challenge (the seed's
 * `--token token.bin`) is accepted on every connection; any token can then be replayed by anyone holding it.
 */
export type ChallengeBinding = "strict" | "skip-for-static-tokens"

export interface Policy {
  readonly binding: ChallengeBinding
  /** The realm measurements to accept (the reference server's `realm.reference-values`); absent: any. */
  readonly referenceValues?: ReferenceValues
  /** The platform attestation key (CPAK) the platform token must be signed with; absent: not checked. */
  readonly platformKey?: KeyObject
}

export interface PolicyOptions {
  readonly referenceValues?: ReferenceValues
  readonly platformKey?: KeyObject
}

/** Fresh tokens only: each must answer this connection's challenge for this certificate's key. */
export const strict = (options: PolicyOptions = {}): Policy => ({ ...options, binding: "strict" })

/** Also accepts static tokens, whose realm challenge answers no connection's challenge. Not for production. */
export const lenientWithoutChallengeBinding = (options: PolicyOptions = {}): Policy => ({
  ...options,
  binding: "skip-for-static-tokens"
})

/** One line for logs and demos: which optional checks this policy runs. */
export const describe = (policy: Policy): string =>
  [
    policy.binding === "strict" ? "challenge binding checked" : "challenge binding SKIPPED (static tokens accepted)",
    policy.platformKey === undefined ? "any platform key" : "platform key pinned",
    policy.referenceValues === undefined ? "any measurements" : `reference values (${policy.referenceValues.rems.length} REM sets)`
  ].join(", ")
