// Handshake message types (RFC 8446 section 4) and the 4-byte header that frames every handshake message.
export const HandshakeType = {
  client_hello: 1,
  server_hello: 2,
  new_session_ticket: 4,
  end_of_early_data: 5,
  encrypted_extensions: 8,
  certificate: 11,
  certificate_request: 13,
  certificate_verify: 15,
  finished: 20,
  key_update: 24,
  message_hash: 254
} as const
export type HandshakeType = (typeof HandshakeType)[keyof typeof HandshakeType]

const names = new Map<number, string>(Object.entries(HandshakeType).map(([name, code]) => [code, name]))

export const handshakeTypeName = (type: number): string => names.get(type) ?? `handshake type ${type}`

/** Prefixes a body with its type and 24-bit length. */
export const frameHandshake = (type: HandshakeType, body: Uint8Array): Uint8Array => {
  const message = new Uint8Array(4 + body.length)
  message[0] = type
  message[1] = (body.length >>> 16) & 0xff
  message[2] = (body.length >>> 8) & 0xff
  message[3] = body.length & 0xff
  message.set(body, 4)
  return message
}
