// Finished (RFC 8446 section 4.4.4): verify_data whose length is the suite's hash length.
import { timingSafeEqual } from "node:crypto"
import { DecodeError, DecryptError } from "../Tls13Error.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

export const decodeFinished = (body: Uint8Array, hashLength: number): Uint8Array => {
  if (body.length !== hashLength) {
    throw new DecodeError({ reason: `Finished of ${body.length} bytes, expected ${hashLength}` })
  }
  return body
}

export const encodeFinished = (verifyData: Uint8Array): Uint8Array => frameHandshake(HandshakeType.finished, verifyData)

/** Checks a peer's Finished against the verify_data it should carry; `peer` names it in the error. */
export const checkFinished = (body: Uint8Array, expected: Uint8Array, peer: "client" | "server"): void => {
  if (!timingSafeEqual(decodeFinished(body, expected.length), expected)) {
    throw new DecryptError({ reason: `${peer} Finished does not match the transcript` })
  }
}
