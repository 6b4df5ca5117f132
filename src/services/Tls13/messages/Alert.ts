// Alert messages (RFC 8446 section 6): two bytes, level and description.
// TLS 1.3 ignores the level for everything but the two closure alerts, so only the description matters.
import { DecodeError } from "../Tls13Error.js"

export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  handshake_failure: 40,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  inappropriate_fallback: 86,
  user_canceled: 90,
  missing_extension: 109,
  unsupported_extension: 110,
  unrecognized_name: 112,
  bad_certificate_status_response: 113,
  unknown_psk_identity: 115,
  certificate_required: 116,
  no_application_protocol: 120
} as const
export type AlertDescription = (typeof AlertDescription)[keyof typeof AlertDescription]

const names = new Map<number, string>(Object.entries(AlertDescription).map(([name, code]) => [code, name]))

export const alertName = (description: number): string => names.get(description) ?? `unknown_alert_${description}`

const levelWarning = 1
const levelFatal = 2

export const encodeAlert = (description: AlertDescription): Uint8Array =>
  Uint8Array.of(
    description === AlertDescription.close_notify || description === AlertDescription.user_canceled
      ? levelWarning
      : levelFatal,
    description
  )

/** Returns the alert description; throws DecodeError when the alert is not exactly two bytes. */
export const decodeAlert = (bytes: Uint8Array): number => {
  if (bytes.length !== 2) throw new DecodeError({ reason: `alert of ${bytes.length} bytes, expected 2` })
  return bytes[1]!
}
