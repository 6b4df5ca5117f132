// Waiting for the ClientHello that answers our HelloRetryRequest. RFC 8446 section 4.1.2: it must be the
// first one unchanged except for a single key share for the group we selected (no cookie was sent, so none
// may come back); anything else is an illegal_parameter.
import type { HandshakeMessage } from "../../HandshakeReader.js"
import { type ClientHello, decodeClientHello } from "../../messages/ClientHello.js"
import { HandshakeType } from "../../messages/HandshakeType.js"
import { IllegalParameter } from "../../Tls13Error.js"
import { unexpected } from "../HandshakeState.js"
import type { Parameters } from "./Negotiation.js"
import type { ServerContext } from "./ServerContext.js"
import { sendServerFlight } from "./ServerFlight.js"
import type { ServerState } from "./ServerState.js"

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b)
const sameList = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((value, index) => value === b[index])

/** The fields a retried ClientHello must repeat, and how to compare them. */
const unchanged: ReadonlyArray<readonly [string, (first: ClientHello, second: ClientHello) => boolean]> = [
  ["random", (first, second) => sameBytes(first.random, second.random)],
  ["legacy_session_id", (first, second) => sameBytes(first.sessionId, second.sessionId)],
  ["cipher_suites", (first, second) => sameList(first.cipherSuites, second.cipherSuites)],
  ["server_name", (first, second) => first.serverName === second.serverName],
  ["supported_versions", (first, second) => sameList(first.supportedVersions, second.supportedVersions)],
  ["supported_groups", (first, second) => sameList(first.supportedGroups, second.supportedGroups)],
  ["signature_algorithms", (first, second) => sameList(first.signatureAlgorithms, second.signatureAlgorithms)],
  [
    "signature_algorithms_cert",
    (first, second) => sameList(first.signatureAlgorithmsCert, second.signatureAlgorithmsCert)
  ]
]

export class ExpectSecondClientHello implements ServerState {
  readonly name = "ExpectSecondClientHello"

  constructor(
    private readonly first: ClientHello,
    private readonly parameters: Parameters
  ) {}

  handle(message: HandshakeMessage, context: ServerContext): ServerState {
    if (message.type !== HandshakeType.client_hello) throw unexpected(this, message)
    const second = decodeClientHello(message.body)
    const changed = unchanged.find(([, same]) => !same(this.first, second))
    if (changed !== undefined) throw new IllegalParameter({ reason: `retried ClientHello changed ${changed[0]}` })
    if (second.cookie !== undefined) {
      throw new IllegalParameter({ reason: "retried ClientHello with a cookie never sent" })
    }
    const share = second.keyShares[0]
    if (second.keyShares.length !== 1 || share === undefined || share.group !== this.parameters.group) {
      throw new IllegalParameter({ reason: "retried ClientHello without exactly one key share for the selected group" })
    }
    context.transcript.add(message.raw)
    return sendServerFlight(second, this.parameters, share, true, context)
  }
}
