// The unpacker's own tar reader: every header format it claims (ustar with prefix, pax `x` and `g`, GNU
// long names and base-256 numbers, v7), the same entries however the bytes are cut into chunks, holding
// and resuming, and a MalformedTar for what is not a tar archive or ends inside one.
import { describe, expect, it } from "vitest"
import type { BodySink, EntryHandler, TarHeader } from "../../../src/services/Unpacker/TarEntries.js"
import { MalformedTar, TarReader } from "../../../src/services/Unpacker/TarEntries.js"

interface RawEntry {
  readonly name: string
  readonly flag?: string
  readonly body?: string | Uint8Array
  readonly linkname?: string
  readonly prefix?: string
  readonly mode?: number
  readonly uid?: number
  readonly mtime?: number
  /** Header fields written as base-256 rather than octal. */
  readonly binary?: boolean
  readonly magic?: "posix" | "gnu" | "v7"
  readonly size?: number
  readonly corruptChecksum?: boolean
  readonly signedChecksum?: boolean
}

const octal = (block: Uint8Array, at: number, width: number, value: number) => {
  const digits = value.toString(8).padStart(width - 1, "0")
  block.set(new TextEncoder().encode(digits), at)
  block[at + width - 1] = 0
}

const base256 = (block: Uint8Array, at: number, width: number, value: number) => {
  block[at] = 0x80
  let v = value
  for (let i = at + width - 1; i > at; i--) {
    block[i] = v % 256
    v = Math.floor(v / 256)
  }
}

const header = (entry: RawEntry, size: number): Uint8Array => {
  const block = new Uint8Array(512)
  const enc = new TextEncoder()
  block.set(enc.encode(entry.name).subarray(0, 100), 0)
  const number = entry.binary === true ? base256 : octal
  octal(block, 100, 8, entry.mode ?? 0o644)
  number(block, 108, 8, entry.uid ?? 0)
  octal(block, 116, 8, 0)
  number(block, 124, 12, entry.size ?? size)
  octal(block, 136, 12, entry.mtime ?? 1_700_000_000)
  block[156] = (entry.flag ?? "0").charCodeAt(0)
  if (entry.linkname !== undefined) block.set(enc.encode(entry.linkname), 157)
  const magic = entry.magic ?? "posix"
  if (magic === "posix") block.set(enc.encode("ustar\u000000"), 257)
  if (magic === "gnu") block.set(enc.encode("ustar  \u0000"), 257)
  if (entry.prefix !== undefined) block.set(enc.encode(entry.prefix), 345)
  block.fill(0x20, 148, 156)
  let sum = 0
  for (const b of block) sum += entry.signedChecksum === true && b > 127 ? b - 256 : b
  octal(block, 148, 7, sum + (entry.corruptChecksum === true ? 1 : 0))
  block[155] = 0x20
  return block
}

const archive = (entries: ReadonlyArray<RawEntry>, end = true): Uint8Array => {
  const parts: Array<Uint8Array> = []
  for (const entry of entries) {
    const body = typeof entry.body === "string" ? new TextEncoder().encode(entry.body) : entry.body ?? new Uint8Array(0)
    parts.push(header(entry, body.length), body, new Uint8Array((512 - (body.length % 512)) % 512))
  }
  if (end) parts.push(new Uint8Array(1024))
  return Buffer.concat(parts)
}

const pax = (records: Record<string, string>): string =>
  Object.entries(records).map(([key, value]) => {
    const text = ` ${key}=${value}\n`
    let length = text.length + 1
    while (String(length).length + text.length !== length) length = String(length).length + text.length
    return `${length}${text}`
  }).join("")

interface Seen {
  readonly header: TarHeader
  body: string
  ended: boolean
}

const collector = (holdBefore: ReadonlySet<string> = new Set()) => {
  const seen: Array<Seen> = []
  const held = new Set<string>()
  let ready: (() => void) | undefined
  const handler: EntryHandler = {
    entry: (h) => {
      const record: Seen = { header: h, body: "", ended: false }
      seen.push(record)
      const sink: BodySink = {
        write: (chunk) => {
          record.body += Buffer.from(chunk).toString("latin1")
        },
        end: () => {
          record.ended = true
        },
        abort: () => undefined
      }
      return sink
    },
    wait: (h, r) => {
      if (!holdBefore.has(h.name) || held.has(h.name)) return false
      held.add(h.name)
      ready = r
      return true
    },
    settled: () => false
  }
  return { seen, handler, release: () => ready?.() }
}

/** Feeds `bytes` in chunks of `size`, resuming whenever the reader is held. */
const read = (bytes: Uint8Array, size: number, holdBefore?: ReadonlySet<string>) => {
  const c = collector(holdBefore)
  let resumed = true
  const reader = new TarReader(c.handler, () => {
    resumed = reader.resume()
  })
  for (let at = 0; at < bytes.length; at += size) {
    if (!reader.push(bytes.subarray(at, at + size))) {
      c.release()
      while (!resumed) c.release()
    }
  }
  reader.end()
  return c.seen
}

const names = (seen: ReadonlyArray<Seen>) => seen.map((s) => [s.header.name, s.header.type, s.body])

describe("TarReader", () => {
  const plain = archive([
    { name: "dir/", flag: "5", mode: 0o755 },
    { name: "dir/a.txt", body: "alpha" },
    { name: "dir/empty", body: "" },
    { name: "dir/link", flag: "2", linkname: "a.txt" },
    { name: "dir/hard", flag: "1", linkname: "dir/a.txt" },
    { name: "dir/big", body: "x".repeat(3000) }
  ])

  it("reads files, directories and links with their metadata", () => {
    const seen = read(plain, plain.length)
    expect(names(seen)).toEqual([
      ["dir/", "directory", ""],
      ["dir/a.txt", "file", "alpha"],
      ["dir/empty", "file", ""],
      ["dir/link", "symlink", ""],
      ["dir/hard", "link", ""],
      ["dir/big", "file", "x".repeat(3000)]
    ])
    expect(seen[0]!.header).toMatchObject({ mode: 0o755, mtime: 1_700_000_000, uid: 0, linkname: null, pax: null })
    expect(seen[3]!.header.linkname).toBe("a.txt")
    expect(seen.filter((s) => s.header.type === "file").every((s) => s.ended)).toBe(true)
  })

  it("gives the same entries however the bytes are cut", () => {
    const whole = names(read(plain, plain.length))
    for (const size of [1, 7, 511, 512, 513, 1000, 4096]) expect(names(read(plain, size))).toEqual(whole)
  })

  it("prepends the ustar prefix, and ignores that field in GNU headers", () => {
    const seen = read(archive([
      { name: "file.txt", prefix: "a/deep/prefix", body: "p" },
      { name: "gnu.txt", prefix: "not-a-prefix", magic: "gnu", body: "g" },
      { name: "v7.txt", magic: "v7", body: "7" }
    ]), 512)
    expect(seen.map((s) => s.header.name)).toEqual(["a/deep/prefix/file.txt", "gnu.txt", "v7.txt"])
  })

  it("applies pax records to the next entry, global ones to all that follow", () => {
    const longName = `${"d/".repeat(80)}file`
    const seen = read(archive([
      { name: "pax-global", flag: "g", body: pax({ uid: "4242" }) },
      { name: "pax-header", flag: "x", body: pax({ path: longName, mtime: "1700000000.5", "SCHILY.xattr.user.k": "v" }) },
      { name: "short", body: "one" },
      { name: "pax-header", flag: "x", body: pax({ linkpath: "t/".repeat(60) + "target" }) },
      { name: "lnk", flag: "2", linkname: "x" },
      { name: "plain", body: "two" }
    ]), 300)
    expect(seen.map((s) => s.header.name)).toEqual([longName, "lnk", "plain"])
    expect(seen[0]!.header.pax).toMatchObject({ uid: "4242", mtime: "1700000000.5", "SCHILY.xattr.user.k": "v" })
    expect(seen[1]!.header.linkname).toBe("t/".repeat(60) + "target")
    expect(seen[2]!.header.pax).toEqual({ uid: "4242" })
    expect(seen[0]!.body).toBe("one")
  })

  it("keeps what waits for an entry bounded: a later pax set replaces an earlier one, global records are capped", () => {
    const seen = read(archive([
      { name: "pax-header", flag: "x", body: pax({ path: "first", uid: "1" }) },
      { name: "pax-header", flag: "x", body: pax({ path: "second" }) },
      { name: "entry", body: "e" }
    ]), 512)
    expect(seen.map((s) => [s.header.name, s.header.pax])).toEqual([["second", { path: "second" }]])
    const many = Array.from({ length: 20 }, (_, i) => ({ name: "g", flag: "g", body: pax({ [`k${i}`]: "v".repeat(4000) }) }))
    let thrown: unknown
    try {
      read(archive([...many, { name: "entry", body: "e" }]), 512)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toMatchObject({ _tag: "MalformedTar", reason: "more than 65536 bytes of global pax records" })
  })

  it("takes a pax size over the header's", () => {
    const seen = read(archive([
      { name: "pax-header", flag: "x", body: pax({ size: "5" }) },
      { name: "sized", body: "12345", size: 0 }
    ]), 512)
    expect(names(seen)).toEqual([["sized", "file", "12345"]])
  })

  it("reads GNU long names and long link names", () => {
    const longName = "n/".repeat(70) + "name"
    const longLink = "l/".repeat(70) + "link"
    const seen = read(archive([
      { name: "././@LongLink", flag: "L", magic: "gnu", body: `${longName}\u0000` },
      { name: "././@LongLink", flag: "K", magic: "gnu", body: `${longLink}\u0000` },
      { name: "truncated", flag: "2", magic: "gnu", linkname: "truncated" }
    ]), 100)
    expect(seen.map((s) => [s.header.name, s.header.linkname])).toEqual([[longName, longLink]])
  })

  it("reads base-256 numbers, and a checksum summed over signed bytes", () => {
    const seen = read(archive([
      { name: "big-uid", binary: true, uid: 3_000_000_000, body: "b" },
      { name: "caf\u00e9", signedChecksum: true, body: "s" }
    ]), 512)
    expect(seen.map((s) => [s.header.name, s.header.uid, s.body])).toEqual([["big-uid", 3_000_000_000, "b"], ["caf\u00e9", 0, "s"]])
  })

  it("treats a regular entry named with a trailing slash as a directory, and skips bodies of non-files", () => {
    const seen = read(archive([
      { name: "old-style/", flag: "\u0000" },
      { name: "dumpdir", flag: "5", body: "data that is not a header" },
      { name: "after", body: "ok" }
    ]), 512)
    expect(names(seen)).toEqual([["old-style/", "directory", ""], ["dumpdir", "directory", ""], ["after", "file", "ok"]])
  })

  it("gives a type of null for a flag it does not know", () => {
    const seen = read(archive([{ name: "sparse", flag: "S", body: "" }]), 512)
    expect(seen[0]!.header.type).toBeNull()
  })

  it("holds before an entry when the handler asks, and goes on from there", () => {
    const seen = read(plain, 700, new Set(["dir/link", "dir/big"]))
    expect(names(seen)).toEqual(names(read(plain, plain.length)))
  })

  it("refuses a bad checksum, a bad number, and bytes that end inside an entry", () => {
    const bad = (bytes: Uint8Array) => {
      try {
        read(bytes, 512)
        return undefined
      } catch (e) {
        return e
      }
    }
    expect(bad(archive([{ name: "x", body: "1", corruptChecksum: true }]))).toBeInstanceOf(MalformedTar)
    const garbled = archive([{ name: "x", body: "1" }])
    garbled.set(new TextEncoder().encode("9"), 124)
    expect(bad(garbled)).toBeInstanceOf(MalformedTar)
    const whole = archive([{ name: "x", body: "y".repeat(2000) }], false)
    expect(bad(whole.subarray(0, 1000))).toMatchObject({ _tag: "MalformedTar", reason: "unexpected end of data" })
    expect(bad(whole.subarray(0, 300))).toMatchObject({ _tag: "MalformedTar" })
    expect(bad(new TextEncoder().encode("not a tar archive at all".repeat(30)))).toBeInstanceOf(MalformedTar)
    expect(bad(archive([{ name: "pax-header", flag: "x", body: "12 path\n" }, { name: "x", body: "" }]))).toMatchObject({
      reason: "malformed pax record"
    })
  })

  it("hands every byte it consumes to the tap, in order, bodies with their sink instead of to write", () => {
    for (const size of [1, 100, 512, 4096]) {
      const c = collector(new Set(["dir/big"]))
      const tapped: Array<Uint8Array> = []
      const bodies: Array<string> = []
      let resumed = true
      const reader = new TarReader(c.handler, () => {
        resumed = reader.resume()
      }, (bytes, body) => {
        tapped.push(Uint8Array.from(bytes))
        if (body !== undefined) bodies.push(Buffer.from(bytes).toString("latin1"))
      })
      for (let at = 0; at < plain.length; at += size) {
        if (!reader.push(plain.subarray(at, at + size))) {
          c.release()
          while (!resumed) c.release()
        }
      }
      reader.end()
      expect(Buffer.compare(Buffer.concat(tapped), Buffer.from(plain))).toBe(0)
      expect(bodies.join("")).toBe(`alpha${"x".repeat(3000)}`)
      expect(c.seen.every((s) => s.body === "")).toBe(true)
      expect(c.seen.filter((s) => s.header.type === "file").every((s) => s.ended)).toBe(true)
    }
  })

  it("reads an archive that ends without its zero blocks", () => {
    expect(names(read(archive([{ name: "a", body: "1" }], false), 512))).toEqual([["a", "file", "1"]])
  })
})
