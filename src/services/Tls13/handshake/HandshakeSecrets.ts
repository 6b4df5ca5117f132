// The secrets a handshake carries from the ServerHello to the Finished messages, for either role.
import type { CipherSuite } from "../CipherSuite.js"

export interface HandshakeSecrets {
  readonly suite: CipherSuite
  readonly handshakeSecret: Uint8Array
  readonly clientTraffic: Uint8Array
  readonly serverTraffic: Uint8Array
}
