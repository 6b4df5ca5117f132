import { describe, expect, it } from "vitest"
import { TLS_CHACHA20_POLY1305_SHA256 } from "../../../src/services/Tls13/CipherSuite.js"
import { ContentType, RecordLayer } from "../../../src/services/Tls13/RecordLayer.js"
import { RecordProtection } from "../../../src/services/Tls13/RecordProtection.js"

const secret = new Uint8Array(32).fill(5)

const tagOf = (run: () => unknown): string => {
  try {
    run()
    return "accepted"
  } catch (error) {
    return (error as { _tag?: string })._tag ?? String(error)
  }
}

const header = (type: number, length: number) => Buffer.from([type, 3, 3, length >> 8, length & 0xff])

describe("TLS 1.3 record framing", () => {
  it("splits outgoing data into records of at most 2^14 plaintext bytes that open back to the same bytes", () => {
    const sender = new RecordLayer()
    sender.setWriteKey(TLS_CHACHA20_POLY1305_SHA256, secret)
    const data = Buffer.alloc(40_000, 0x61)
    const records = sender.encode(ContentType.application_data, data)
    expect(records.map((record) => record.length - 5 - 17)).toEqual([16384, 16384, 40_000 - 32768])
    const receiver = new RecordLayer()
    receiver.setReadKey(TLS_CHACHA20_POLY1305_SHA256, secret)
    receiver.receive(Buffer.concat(records))
    const opened = [receiver.next()!, receiver.next()!, receiver.next()!]
    expect(Buffer.concat(opened.map((record) => record.content)).equals(data)).toBe(true)
  })

  it("rejects a record longer than 2^14 + 256 bytes with RecordOverflow", () => {
    const layer = new RecordLayer()
    layer.receive(header(23, 2 ** 14 + 257))
    expect(tagOf(() => layer.next())).toBe("RecordOverflow")
  })

  it("rejects an unprotected record longer than 2^14 bytes with RecordOverflow", () => {
    const layer = new RecordLayer()
    layer.receive(Buffer.concat([header(22, 2 ** 14 + 1), Buffer.alloc(2 ** 14 + 1)]))
    expect(tagOf(() => layer.next())).toBe("RecordOverflow")
  })

  it("rejects an unknown content type with DecodeError", () => {
    const layer = new RecordLayer()
    layer.receive(Buffer.concat([header(24, 1), Buffer.alloc(1)]))
    expect(tagOf(() => layer.next())).toBe("DecodeError")
  })

  it("passes change_cipher_spec through even when records are protected", () => {
    const layer = new RecordLayer()
    layer.setReadKey(TLS_CHACHA20_POLY1305_SHA256, secret)
    layer.receive(Buffer.from([20, 3, 3, 0, 1, 1]))
    expect(layer.next()).toEqual({ contentType: 20, content: Buffer.from([1]) })
  })

  it("rejects a plaintext handshake record once keys are installed", () => {
    const layer = new RecordLayer()
    layer.setReadKey(TLS_CHACHA20_POLY1305_SHA256, secret)
    layer.receive(Buffer.concat([header(22, 4), Buffer.from([20, 0, 0, 0])]))
    expect(tagOf(() => layer.next())).toBe("UnexpectedMessage")
  })

  it("rejects application data before keys are installed", () => {
    const layer = new RecordLayer()
    layer.receive(Buffer.concat([header(23, 3), Buffer.from("abc")]))
    expect(tagOf(() => layer.next())).toBe("UnexpectedMessage")
  })

  it("opens an empty application data record as empty content", () => {
    const sender = new RecordLayer()
    sender.setWriteKey(TLS_CHACHA20_POLY1305_SHA256, secret)
    const [record] = sender.encode(ContentType.application_data, Buffer.alloc(0))
    const receiver = new RecordLayer()
    receiver.setReadKey(TLS_CHACHA20_POLY1305_SHA256, secret)
    receiver.receive(record!)
    expect(receiver.next()).toEqual({ contentType: 23, content: Buffer.alloc(0) })
  })

  it("rejects a protected record whose plaintext is all zero padding with UnexpectedMessage", () => {
    const record = RecordProtection.fromTrafficSecret(TLS_CHACHA20_POLY1305_SHA256, secret).seal(0, Buffer.alloc(0), 3)
    const receiver = new RecordLayer()
    receiver.setReadKey(TLS_CHACHA20_POLY1305_SHA256, secret)
    receiver.receive(record)
    expect(tagOf(() => receiver.next())).toBe("UnexpectedMessage")
  })
})
