// The TLS 1.3 key schedule (RFC 8446 section 7): HKDF with the suite's hash, from the (EC)DHE shared secret to
// handshake and application traffic secrets, their keys and IVs, Finished MACs and key updates.
// Pure functions over bytes, shared by the client and a future server role.
import * as crypto from "node:crypto"
import { ByteWriter } from "./ByteWriter.js"
import { type CipherSuite, ivLength } from "./CipherSuite.js"

export const hkdfExtract = (suite: CipherSuite, salt: Uint8Array, ikm: Uint8Array): Uint8Array =>
  crypto
    .createHmac(suite.hash, salt.length === 0 ? new Uint8Array(suite.hashLength) : salt)
    .update(ikm)
    .digest()

export const hkdfExpand = (suite: CipherSuite, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array => {
  const output = new Uint8Array(length)
  let previous: Uint8Array = new Uint8Array(0)
  for (let filled = 0, counter = 1; filled < length; counter++) {
    previous = crypto.createHmac(suite.hash, prk).update(previous).update(info).update(Uint8Array.of(counter)).digest()
    output.set(previous.subarray(0, Math.min(previous.length, length - filled)), filled)
    filled += previous.length
  }
  return output
}

const labelPrefix = "tls13 "

export const hkdfExpandLabel = (
  suite: CipherSuite,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number
): Uint8Array => {
  const info = new ByteWriter()
    .u16(length)
    .vector(1, (w) => w.bytes(Buffer.from(labelPrefix + label, "ascii")))
    .vector(1, (w) => w.bytes(context))
    .finish()
  return hkdfExpand(suite, secret, info, length)
}

/** Derive-Secret with the transcript hash already computed (the caller owns the running transcript). */
export const deriveSecret = (
  suite: CipherSuite,
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array
): Uint8Array => hkdfExpandLabel(suite, secret, label, transcriptHash, suite.hashLength)

const emptyHash = (suite: CipherSuite): Uint8Array => crypto.createHash(suite.hash).digest()

/** Without a PSK the early secret is HKDF-Extract(0, 0). */
export const earlySecret = (suite: CipherSuite): Uint8Array =>
  hkdfExtract(suite, new Uint8Array(suite.hashLength), new Uint8Array(suite.hashLength))

export const handshakeSecret = (suite: CipherSuite, early: Uint8Array, sharedSecret: Uint8Array): Uint8Array =>
  hkdfExtract(suite, deriveSecret(suite, early, "derived", emptyHash(suite)), sharedSecret)

export const masterSecret = (suite: CipherSuite, handshake: Uint8Array): Uint8Array =>
  hkdfExtract(suite, deriveSecret(suite, handshake, "derived", emptyHash(suite)), new Uint8Array(suite.hashLength))

export interface TrafficSecrets {
  readonly client: Uint8Array
  readonly server: Uint8Array
}

/** From the handshake secret and Hash(ClientHello..ServerHello). */
export const handshakeTrafficSecrets = (
  suite: CipherSuite,
  handshake: Uint8Array,
  transcriptHash: Uint8Array
): TrafficSecrets => ({
  client: deriveSecret(suite, handshake, "c hs traffic", transcriptHash),
  server: deriveSecret(suite, handshake, "s hs traffic", transcriptHash)
})

/** From the master secret and Hash(ClientHello..server Finished). */
export const applicationTrafficSecrets = (
  suite: CipherSuite,
  master: Uint8Array,
  transcriptHash: Uint8Array
): TrafficSecrets => ({
  client: deriveSecret(suite, master, "c ap traffic", transcriptHash),
  server: deriveSecret(suite, master, "s ap traffic", transcriptHash)
})

export interface TrafficKeys {
  readonly key: Uint8Array
  readonly iv: Uint8Array
}

export const trafficKeys = (suite: CipherSuite, trafficSecret: Uint8Array): TrafficKeys => ({
  key: hkdfExpandLabel(suite, trafficSecret, "key", new Uint8Array(0), suite.keyLength),
  iv: hkdfExpandLabel(suite, trafficSecret, "iv", new Uint8Array(0), ivLength)
})

export const finishedKey = (suite: CipherSuite, baseKey: Uint8Array): Uint8Array =>
  hkdfExpandLabel(suite, baseKey, "finished", new Uint8Array(0), suite.hashLength)

/** verify_data = HMAC(finished_key, transcript hash). */
export const finishedVerifyData = (suite: CipherSuite, baseKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array =>
  crypto.createHmac(suite.hash, finishedKey(suite, baseKey)).update(transcriptHash).digest()

/** application_traffic_secret_N+1 after a KeyUpdate. */
export const nextApplicationTrafficSecret = (suite: CipherSuite, secret: Uint8Array): Uint8Array =>
  hkdfExpandLabel(suite, secret, "traffic upd", new Uint8Array(0), suite.hashLength)
