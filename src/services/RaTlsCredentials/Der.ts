// The few DER encodings (X.690) an RA-TLS client certificate is made of, written by hand so the certificate
// holds exactly the fields RA-TLS.md section 1.4 names and nothing a general-purpose X.509 builder would add.
// Each function returns one complete TLV; composite values take already encoded children.

const Tag = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  objectIdentifier: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30
} as const

const lengthOctets = (length: number): Uint8Array => {
  if (length < 0x80) return Uint8Array.of(length)
  const bytes: Array<number> = []
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))

const tlv = (tag: number, content: Uint8Array): Uint8Array => concat([Uint8Array.of(tag), lengthOctets(content.length), content])

export const sequence = (...children: ReadonlyArray<Uint8Array>): Uint8Array => tlv(Tag.sequence, concat(children))

/** `[number] EXPLICIT`: a constructed context-specific tag around one encoded value. */
export const explicit = (number: number, child: Uint8Array): Uint8Array => tlv(0xa0 | number, child)

/** A non-negative INTEGER from its big-endian magnitude, in the minimal two's complement form DER wants. */
export const unsignedInteger = (magnitude: Uint8Array): Uint8Array => {
  let start = 0
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++
  const trimmed = magnitude.subarray(start)
  const content = trimmed.length === 0 ? Uint8Array.of(0) : trimmed
  return tlv(Tag.integer, (content[0]! & 0x80) !== 0 ? concat([Uint8Array.of(0), content]) : content)
}

export const smallInteger = (value: number): Uint8Array => {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a small non-negative integer: ${value}`)
  const bytes: Array<number> = []
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  return unsignedInteger(Uint8Array.from(bytes))
}

export const nullValue = (): Uint8Array => tlv(Tag.null, new Uint8Array(0))

export const octetString = (bytes: Uint8Array): Uint8Array => tlv(Tag.octetString, bytes)

/** A BIT STRING of whole octets (no unused bits), as signatures are. */
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(Tag.bitString, concat([Uint8Array.of(0), bytes]))

/** OBJECT IDENTIFIER from dotted text, e.g. "1.2.840.113549.1.1.11". */
export const objectIdentifier = (dotted: string): Uint8Array => {
  const arcs = dotted.split(".").map((arc) => {
    if (!/^\d+$/.test(arc)) throw new RangeError(`not an object identifier: ${dotted}`)
    return Number(arc)
  })
  if (arcs.length < 2 || arcs[0]! > 2 || (arcs[0]! < 2 && arcs[1]! > 39)) {
    throw new RangeError(`not an object identifier: ${dotted}`)
  }
  const content: Array<number> = []
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const base128: Array<number> = [arc % 128]
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) base128.unshift(0x80 | (rest % 128))
    content.push(...base128)
  }
  return tlv(Tag.objectIdentifier, Uint8Array.from(content))
}

const twoDigits = (value: number) => String(value).padStart(2, "0")

const clockTime = (date: Date) =>
  `${twoDigits(date.getUTCMonth() + 1)}${twoDigits(date.getUTCDate())}` +
  `${twoDigits(date.getUTCHours())}${twoDigits(date.getUTCMinutes())}${twoDigits(date.getUTCSeconds())}Z`

/**
 * A certificate validity time as RFC 5280 section 4.1.2.5 demands: UTCTime (YYMMDDHHMMSSZ) for years 1950
 * to 2049, GeneralizedTime (YYYYMMDDHHMMSSZ) from 2050 on; whole seconds, always UTC.
 */
export const validityTime = (date: Date): Uint8Array => {
  const year = date.getUTCFullYear()
  if (year < 1950 || year > 9999) throw new RangeError(`year ${year} cannot be a certificate validity time`)
  return year < 2050
    ? tlv(Tag.utcTime, Buffer.from(`${twoDigits(year % 100)}${clockTime(date)}`, "ascii"))
    : tlv(Tag.generalizedTime, Buffer.from(`${String(year).padStart(4, "0")}${clockTime(date)}`, "ascii"))
}
