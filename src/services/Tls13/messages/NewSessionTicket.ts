// NewSessionTicket (RFC 8446 section 4.6.1). The client does not resume sessions, so tickets are only
// checked for well-formedness and then dropped.
import { ByteReader } from "../ByteReader.js"
import { readExtensions } from "./Extension.js"

export const decodeNewSessionTicket = (body: Uint8Array): void => {
  const reader = new ByteReader(body)
  reader.u32("ticket_lifetime")
  reader.u32("ticket_age_add")
  reader.vector(1, "ticket_nonce")
  reader.vector(2, "ticket", 1)
  readExtensions(reader, "NewSessionTicket")
  reader.end("NewSessionTicket")
}
