import { describe, expect, it } from "vitest"
import { HandshakeReader } from "../../../src/services/Tls13/HandshakeReader.js"

const message = (type: number, body: string) =>
  Buffer.concat([Buffer.from([type, 0, 0, body.length]), Buffer.from(body)])

describe("handshake message reassembly", () => {
  it("splits two messages coalesced in one record", () => {
    const reader = new HandshakeReader()
    reader.push(Buffer.concat([message(8, ""), message(11, "cert")]))
    const first = reader.next()!
    const second = reader.next()!
    expect([first.type, Buffer.from(first.body).toString(), second.type, Buffer.from(second.body).toString()]).toEqual([
      8,
      "",
      11,
      "cert"
    ])
    expect(reader.isEmpty).toBe(true)
  })

  it("joins a message fragmented one byte per record", () => {
    const reader = new HandshakeReader()
    const whole = message(20, "verify data")
    const seen = []
    for (const byte of whole) {
      reader.push(Buffer.from([byte]))
      const next = reader.next()
      if (next !== undefined) seen.push(Buffer.from(next.raw).toString("hex"))
    }
    expect(seen).toEqual([whole.toString("hex")])
  })

  it("reports a partial message as pending", () => {
    const reader = new HandshakeReader()
    reader.push(message(15, "signature").subarray(0, 6))
    expect(reader.next()).toBeUndefined()
    expect(reader.isEmpty).toBe(false)
  })

  it("rejects a message length beyond the limit with DecodeError", () => {
    const reader = new HandshakeReader()
    reader.push(Buffer.from([11, 0x10, 0, 0]))
    expect(() => reader.next()).toThrow(expect.objectContaining({ _tag: "DecodeError" }))
  })
})
