// Starts a client handshake: makes the key share, sends the first ClientHello and returns the first state.
import * as crypto from "node:crypto"
import * as net from "node:net"
import type { ClientHello } from "../../messages/ClientHello.js"
import { encodeClientHello } from "../../messages/ClientHello.js"
import { tls13Version } from "../../messages/Extension.js"
import { generateKeyShare } from "../../NamedGroup.js"
import { certificateSignatureSchemes, handshakeSignatureSchemes } from "../../SignatureScheme.js"
import type { ClientContext } from "./ClientContext.js"
import { ExpectServerHello } from "./ExpectServerHello.js"

export const startClientHandshake = (context: ClientContext): ExpectServerHello => {
  const { config } = context
  const share = generateKeyShare(config.groups[0]!)
  const hello: ClientHello = {
    random: crypto.randomBytes(32),
    // A non-empty session id keeps middleboxes that expect TLS 1.2 resumption out of the way (RFC 8446 D.4).
    sessionId: crypto.randomBytes(32),
    cipherSuites: config.cipherSuites.map((suite) => suite.code),
    serverName: net.isIP(config.serverName) === 0 ? config.serverName : undefined,
    supportedVersions: [tls13Version],
    supportedGroups: config.groups,
    keyShares: [{ group: share.group, keyExchange: share.publicKey }],
    signatureAlgorithms: handshakeSignatureSchemes,
    signatureAlgorithmsCert: certificateSignatureSchemes,
    cookie: undefined
  }
  context.sendHandshake(encodeClientHello(hello))
  return new ExpectServerHello(hello, [share], undefined)
}
