// The server's choices from a ClientHello (RFC 8446 sections 4.1.1, 4.2.7-4.2.8): TLS 1.3 or nothing, the
// first suite and signature scheme of the server's preference the client offers, and a group. A group the
// client already sent a key share for wins over the server's order, as it saves a round trip; without one,
// the server's favourite among the client's supported groups is asked for with a HelloRetryRequest.
import type { CipherSuite } from "../../CipherSuite.js"
import type { ClientHello, KeyShareEntry } from "../../messages/ClientHello.js"
import { tls13Version } from "../../messages/Extension.js"
import type { NamedGroup } from "../../NamedGroup.js"
import { chooseScheme } from "../../SignatureScheme.js"
import { HandshakeFailure, IllegalParameter, UnsupportedVersion } from "../../Tls13Error.js"
import type { ServerConfig } from "./ServerConfig.js"

export interface Parameters {
  readonly suite: CipherSuite
  readonly group: NamedGroup
  readonly signatureScheme: number
}

export interface Negotiation {
  readonly parameters: Parameters
  /** The client's share for the chosen group; undefined when a HelloRetryRequest must ask for one. */
  readonly clientShare: KeyShareEntry | undefined
}

const checkKeyShares = (hello: ClientHello): void => {
  const groups = hello.keyShares.map((share) => share.group)
  if (new Set(groups).size !== groups.length) throw new IllegalParameter({ reason: "two key shares for one group" })
  const unlisted = groups.find((group) => !hello.supportedGroups.includes(group))
  if (unlisted !== undefined) {
    throw new IllegalParameter({ reason: `key share for group 0x${unlisted.toString(16)} not in supported_groups` })
  }
}

export const negotiate = (hello: ClientHello, config: ServerConfig): Negotiation => {
  if (!hello.supportedVersions.includes(tls13Version)) {
    throw new UnsupportedVersion({ offered: hello.supportedVersions })
  }
  checkKeyShares(hello)
  const suite = config.cipherSuites.find((candidate) => hello.cipherSuites.includes(candidate.code))
  if (suite === undefined) throw new HandshakeFailure({ reason: "no cipher suite in common" })
  const signatureScheme = chooseScheme(config.credential.privateKey, hello.signatureAlgorithms)
  if (signatureScheme === undefined) {
    throw new HandshakeFailure({ reason: "the client accepts no signature scheme the server key can make" })
  }
  const common = config.groups.filter((group) => hello.supportedGroups.includes(group))
  const ready = common.find((group) => hello.keyShares.some((share) => share.group === group))
  const group = ready ?? common[0]
  if (group === undefined) throw new HandshakeFailure({ reason: "no key exchange group in common" })
  return {
    parameters: { suite, group, signatureScheme },
    clientShare: hello.keyShares.find((share) => share.group === ready)
  }
}
