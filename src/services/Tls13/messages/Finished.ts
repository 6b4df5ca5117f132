// Finished (RFC 8446 section 4.4.4): verify_data whose length is the suite's hash length.
import { DecodeError } from "../Tls13Error.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

export const decodeFinished = (body: Uint8Array, hashLength: number): Uint8Array => {
  if (body.length !== hashLength) {
    throw new DecodeError({ reason: `Finished of ${body.length} bytes, expected ${hashLength}` })
  }
  return body
}

export const encodeFinished = (verifyData: Uint8Array): Uint8Array => frameHandshake(HandshakeType.finished, verifyData)
