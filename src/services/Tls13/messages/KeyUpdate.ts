// KeyUpdate (RFC 8446 section 4.6.3): one byte saying whether the peer must update its own sending keys too.
import { DecodeError } from "../Tls13Error.js"
import { frameHandshake, HandshakeType } from "./HandshakeType.js"

export const KeyUpdateRequest = { update_not_requested: 0, update_requested: 1 } as const
export type KeyUpdateRequest = (typeof KeyUpdateRequest)[keyof typeof KeyUpdateRequest]

export const decodeKeyUpdate = (body: Uint8Array): KeyUpdateRequest => {
  if (body.length !== 1) throw new DecodeError({ reason: `KeyUpdate of ${body.length} bytes` })
  const value = body[0]!
  if (value !== KeyUpdateRequest.update_not_requested && value !== KeyUpdateRequest.update_requested) {
    throw new DecodeError({ reason: `KeyUpdate request_update ${value}` })
  }
  return value
}

export const encodeKeyUpdate = (request: KeyUpdateRequest): Uint8Array =>
  frameHandshake(HandshakeType.key_update, Uint8Array.of(request))
