// The running hash of handshake messages (RFC 8446 section 4.4.1).
// The hash function is only known once the ServerHello names the suite, so messages are held until then;
// a HelloRetryRequest replaces ClientHello1 with the synthetic message_hash message.
import * as crypto from "node:crypto"
import type { HashName } from "./CipherSuite.js"

const messageHashType = 254

export class TranscriptHash {
  private pending: Array<Uint8Array> = []
  private hash: crypto.Hash | undefined

  /** Adds a whole handshake message, header included. */
  add(message: Uint8Array): void {
    if (this.hash === undefined) this.pending.push(message)
    else this.hash.update(message)
  }

  /** Fixes the hash function; the messages held so far are hashed now. */
  useHash(name: HashName): void {
    if (this.hash !== undefined) return
    this.hash = crypto.createHash(name)
    for (const message of this.pending) this.hash.update(message)
    this.pending = []
  }

  /** After a HelloRetryRequest: the transcript restarts with message_hash(Hash(ClientHello1)). */
  replaceWithMessageHash(name: HashName): void {
    const inner = crypto.createHash(name)
    for (const message of this.pending) inner.update(message)
    const digest = inner.digest()
    this.pending = []
    this.hash = crypto.createHash(name)
    this.hash.update(Uint8Array.of(messageHashType, 0, 0, digest.length))
    this.hash.update(digest)
  }

  /** Hash of everything added so far; the transcript goes on. */
  current(): Uint8Array {
    if (this.hash === undefined) throw new Error("transcript hash read before the hash function was chosen")
    return this.hash.copy().digest()
  }
}
