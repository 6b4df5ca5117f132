import * as crypto from "node:crypto"
import { describe, expect, it } from "vitest"
import { TLS_AES_128_GCM_SHA256 } from "../../../src/services/Tls13/CipherSuite.js"
import { HandshakeReader } from "../../../src/services/Tls13/HandshakeReader.js"
import * as KeySchedule from "../../../src/services/Tls13/KeySchedule.js"
import { decodeCertificate } from "../../../src/services/Tls13/messages/Certificate.js"
import { decodeCertificateVerify } from "../../../src/services/Tls13/messages/CertificateVerify.js"
import { decodeNewSessionTicket } from "../../../src/services/Tls13/messages/NewSessionTicket.js"
import { RecordLayer } from "../../../src/services/Tls13/RecordLayer.js"
import { RecordProtection } from "../../../src/services/Tls13/RecordProtection.js"
import { signedContent, verifySignature } from "../../../src/services/Tls13/SignatureScheme.js"
import { TranscriptHash } from "../../../src/services/Tls13/TranscriptHash.js"
import * as V from "./Rfc8448Vectors.js"

const suite = TLS_AES_128_GCM_SHA256
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const openServerFlight = () => {
  const protection = RecordProtection.fromTrafficSecret(suite, V.serverHandshakeTraffic)
  return protection.open(V.serverFlightRecord.subarray(0, 5), V.serverFlightRecord.subarray(5))
}

const serverFlightMessages = () => {
  const reader = new HandshakeReader()
  reader.push(openServerFlight().content)
  return [reader.next()!, reader.next()!, reader.next()!, reader.next()!]
}

describe("TLS 1.3 record protection against RFC 8448 section 3", () => {
  it("the server's encrypted flight opens as one handshake record", () => {
    const opened = openServerFlight()
    expect(opened.contentType).toBe(22)
    expect(opened.content.length).toBe(0x2a2 - 17)
  })

  it("the decrypted flight splits into EncryptedExtensions, Certificate, CertificateVerify and Finished", () => {
    expect(serverFlightMessages().map((message) => message.type)).toEqual([8, 11, 15, 20])
  })

  it("the server's CertificateVerify verifies with the key of its certificate", () => {
    const [ee, certificate, verify] = serverFlightMessages()
    const transcript = new TranscriptHash()
    transcript.add(V.clientHello)
    transcript.add(V.serverHelloRecord.subarray(5))
    transcript.useHash("sha256")
    transcript.add(ee!.raw)
    transcript.add(certificate!.raw)
    const leaf = new crypto.X509Certificate(decodeCertificate(certificate!.body).certificates[0]!)
    const { scheme, signature } = decodeCertificateVerify(verify!.body)
    expect(verifySignature(scheme, leaf.publicKey, signedContent("server", transcript.current()), signature)).toBe(true)
  })

  it("the server Finished and the client Finished record follow from the transcript", () => {
    const messages = serverFlightMessages()
    const transcript = new TranscriptHash()
    transcript.add(V.clientHello)
    transcript.add(V.serverHelloRecord.subarray(5))
    transcript.useHash("sha256")
    for (const message of messages.slice(0, 3)) transcript.add(message.raw)
    const serverVerifyData = KeySchedule.finishedVerifyData(suite, V.serverHandshakeTraffic, transcript.current())
    expect(hexOf(messages[3]!.body)).toBe(hexOf(serverVerifyData))
    transcript.add(messages[3]!.raw)
    expect(hexOf(transcript.current())).toBe(hexOf(V.serverFinishedHash))
    const clientVerifyData = KeySchedule.finishedVerifyData(suite, V.clientHandshakeTraffic, transcript.current())
    const clientFinished = Buffer.concat([Buffer.from([20, 0, 0, 32]), clientVerifyData])
    const sealed = RecordProtection.fromTrafficSecret(suite, V.clientHandshakeTraffic).seal(22, clientFinished)
    expect(hexOf(sealed)).toBe(hexOf(V.clientFinishedRecord))
  })

  it("application data records under the application keys match the RFC byte for byte", () => {
    const client = RecordProtection.fromTrafficSecret(suite, V.clientApplicationTraffic)
    expect(hexOf(client.seal(23, V.applicationPayload))).toBe(hexOf(V.clientApplicationRecord))
    expect(hexOf(client.seal(21, Uint8Array.of(1, 0)))).toBe(hexOf(V.clientCloseNotifyRecord))
  })

  it("the server's ticket, data and close_notify open in sequence under one key", () => {
    const layer = new RecordLayer()
    layer.setReadKey(suite, V.serverApplicationTraffic)
    layer.receive(Buffer.concat([V.newSessionTicketRecord, V.serverApplicationRecord, V.serverCloseNotifyRecord]))
    const ticket = layer.next()!
    expect(ticket.contentType).toBe(22)
    expect(() => decodeNewSessionTicket(ticket.content.subarray(4))).not.toThrow()
    const data = layer.next()!
    expect([data.contentType, hexOf(data.content)]).toEqual([23, hexOf(V.applicationPayload)])
    const alert = layer.next()!
    expect([alert.contentType, hexOf(alert.content)]).toEqual([21, "0100"])
    expect(layer.next()).toBeUndefined()
  })

  it("records split at every byte boundary across network chunks open the same", () => {
    const stream = Buffer.concat([V.newSessionTicketRecord, V.serverApplicationRecord])
    for (let cut = 1; cut < stream.length; cut += 7) {
      const layer = new RecordLayer()
      layer.setReadKey(suite, V.serverApplicationTraffic)
      layer.receive(stream.subarray(0, cut))
      const early = layer.next()
      layer.receive(stream.subarray(cut))
      const types = [early, layer.next(), layer.next()].filter((r) => r !== undefined).map((r) => r.contentType)
      expect(types).toEqual([22, 23])
    }
  })

  it("a ciphertext with one flipped bit fails with BadRecordMac", () => {
    const tampered = Buffer.from(V.serverApplicationRecord)
    tampered[20]! ^= 1
    const protection = RecordProtection.fromTrafficSecret(suite, V.serverApplicationTraffic)
    expect(() => protection.open(tampered.subarray(0, 5), tampered.subarray(5))).toThrow(
      expect.objectContaining({ _tag: "BadRecordMac" })
    )
  })

  it("padding is removed and the inner content type recovered", () => {
    const key = crypto.randomBytes(16)
    const iv = crypto.randomBytes(12)
    const record = new RecordProtection(suite, key, iv).seal(23, Buffer.from("hello"), 100)
    expect(record.length).toBe(5 + 5 + 1 + 100 + 16)
    const opened = new RecordProtection(suite, key, iv).open(record.subarray(0, 5), record.subarray(5))
    expect([opened.contentType, opened.content.toString()]).toEqual([23, "hello"])
  })
})
