// Test-only edits of encoded CCA tokens: decode the layers with the project's CBOR codec, change one
// byte string or claim, and encode again, so each test can break exactly one signed part.
import { Either } from "effect"
import * as Cbor from "../../../src/domain/cca/Cbor.js"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"

export type Part = "platform" | "realm"

/** The COSE_Sign1 array of one inner token: [protected, unprotected, payload, signature]. */
export type Sign1Parts = [Uint8Array, Map<unknown, unknown>, Uint8Array, Uint8Array]

const unwrap = (decoded: Either.Either<unknown, string>): unknown =>
  Either.getOrThrowWith(decoded, (reason) => new Error(`test token does not decode: ${reason}`))

const keyOf = (part: Part) => (part === "platform" ? CcaToken.PlatformTokenKey : CcaToken.RealmTokenKey)

/** Rebuilds `token` with one inner COSE_Sign1 changed by `edit`. */
export const editSign1 = (token: Uint8Array, part: Part, edit: (parts: Sign1Parts) => Sign1Parts): Uint8Array => {
  const outer = unwrap(Cbor.decode(token)) as Cbor.Tag
  const entries = outer.value as Map<number, Uint8Array>
  const inner = unwrap(Cbor.decode(entries.get(keyOf(part)) as Uint8Array)) as Cbor.Tag
  const edited = new Cbor.Tag(edit([...(inner.value as Sign1Parts)]), inner.tag)
  const rebuilt = new Map(entries)
  rebuilt.set(keyOf(part), Cbor.encode(edited))
  return Cbor.encode(new Cbor.Tag(rebuilt, outer.tag))
}

/** Rebuilds `token` with the claims map of one part changed by `edit` (signature left as it was). */
export const editClaims = (
  token: Uint8Array,
  part: Part,
  edit: (claims: Map<number, unknown>) => void
): Uint8Array =>
  editSign1(token, part, ([protectedHeader, unprotected, payload, signature]) => {
    const claims = unwrap(Cbor.decode(payload)) as Map<number, unknown>
    edit(claims)
    return [protectedHeader, unprotected, Cbor.encode(claims), signature]
  })

/** A copy of `bytes` with the byte at `index` (negative counts from the end) inverted in its low bit. */
export const flip = (bytes: Uint8Array, index: number): Uint8Array => {
  const copy = Uint8Array.from(bytes)
  const at = index < 0 ? copy.length + index : index
  copy[at] = (copy[at] ?? 0) ^ 0x01
  return copy
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
