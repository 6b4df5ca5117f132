import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schedule } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as CcaToken from "../../../src/domain/cca/CcaToken.js"
import * as SoftwareAttester from "../../../src/domain/cca/SoftwareAttester.js"
import * as TokenResolver from "../../../src/services/TokenResolver/TokenResolver.js"

const realmChallenge = Uint8Array.from({ length: 64 }, (_, index) => index * 3)
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const scratch = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(tmpdir(), "token-resolver-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** A resolver running `node -e script`; the script sees the challenge in process.argv.at(-1). */
const nodeScript = (script: string, options: TokenResolver.TokenCommandOptions = {}, extra: ReadonlyArray<string> = []) =>
  TokenResolver.fromCommand(process.execPath, ["-e", script, ...extra], options)

const isGone = (pid: number) => {
  try {
    process.kill(pid, 0)
    return false
  } catch {
    return true
  }
}

describe("token from a file (the seed's --token)", () => {
  it.scoped("resolves to the file's bytes whatever the challenge", () =>
    Effect.gen(function* () {
      const file = path.join(yield* scratch, "token.bin")
      writeFileSync(file, Buffer.from("d9018fa2", "hex"))
      expect(hex(yield* TokenResolver.fromFile(file).resolve(realmChallenge))).toBe("d9018fa2")
    }))

  it.effect("a missing file fails as TokenFileUnreadable naming the path", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TokenResolver.fromFile("/nonexistent/token.bin").resolve(realmChallenge))
      expect(error).toMatchObject({ _tag: "TokenFileUnreadable", path: "/nonexistent/token.bin", reason: "no such file" })
      expect(error.message).toContain("/nonexistent/token.bin")
    }))

  it.scoped("a directory in place of the file fails as TokenFileUnreadable", () =>
    Effect.gen(function* () {
      const dir = yield* scratch
      const error = yield* Effect.flip(TokenResolver.fromFile(dir).resolve(realmChallenge))
      expect(error).toMatchObject({ _tag: "TokenFileUnreadable", path: dir })
    }))

  it.scoped("an empty file fails as TokenEmpty naming the file", () =>
    Effect.gen(function* () {
      const file = path.join(yield* scratch, "empty.bin")
      writeFileSync(file, "")
      const error = yield* Effect.flip(TokenResolver.fromFile(file).resolve(realmChallenge))
      expect(error._tag).toBe("TokenEmpty")
      expect(error.message).toContain(file)
    }))
})

describe("token from a program (--token-command)", () => {
  it.effect("the program gets the realm challenge as lowercase hex in its last argument and its stdout is the token", () =>
    Effect.gen(function* () {
      const resolver = nodeScript(
        "const arg = process.argv.at(-1); if (!/^[0-9a-f]{128}$/.test(arg)) process.exit(3);" +
          "process.stdout.write(Buffer.from(arg, 'hex').reverse())"
      )
      const token = yield* resolver.resolve(realmChallenge)
      expect(hex(token)).toBe(hex(realmChallenge.slice().reverse()))
    }))

  it.effect("arguments of the caller come before the challenge", () =>
    Effect.gen(function* () {
      const token = yield* nodeScript("process.stdout.write(process.argv.slice(1).join(' '))", {}, ["attest", "cbor"]).resolve(realmChallenge)
      expect(Buffer.from(token).toString()).toBe(`attest cbor ${hex(realmChallenge)}`)
    }))

  it.effect("a non-zero exit fails as TokenCommandFailed with the status and what the program wrote to stderr", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(nodeScript("console.error('attestation device busy'); process.exit(7)").resolve(realmChallenge))
      expect(error).toMatchObject({ _tag: "TokenCommandFailed", exitCode: 7, signal: null, stderr: "attestation device busy" })
      expect(error.message).toContain("exited with status 7: attestation device busy")
    }))

  it.effect("a long stderr is kept by its end only", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(nodeScript("process.stderr.write('x'.repeat(20000) + 'LAST'); process.exitCode = 1").resolve(realmChallenge))
      expect(error._tag).toBe("TokenCommandFailed")
      const stderr = (error as TokenResolver.TokenCommandFailed).stderr
      expect(stderr.endsWith("LAST")).toBe(true)
      expect(stderr.length).toBeLessThanOrEqual(601)
    }))

  it.effect("a program that prints nothing fails as TokenEmpty", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(nodeScript("").resolve(realmChallenge))
      expect(error._tag).toBe("TokenEmpty")
      expect(error.message).toContain(process.execPath)
    }))

  it.effect("a program that prints more than the limit fails as TokenTooLarge", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(nodeScript("process.stdout.write(Buffer.alloc(100))", { maxBytes: 10 }).resolve(realmChallenge))
      expect(error).toMatchObject({ _tag: "TokenTooLarge", limit: 10 })
    }))

  it.scopedLive("a program that does not finish in time fails as TokenCommandTimedOut and is killed", () =>
    Effect.gen(function* () {
      const pidFile = path.join(yield* scratch, "pid")
      const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`
      const error = yield* Effect.flip(nodeScript(script, { timeout: "1500 millis" }).resolve(realmChallenge))
      expect(error).toMatchObject({ _tag: "TokenCommandTimedOut", millis: 1500 })
      const pid = Number(readFileSync(pidFile, "utf8"))
      yield* Effect.repeat(Effect.sync(() => isGone(pid)), {
        until: (exited) => exited,
        schedule: Schedule.intersect(Schedule.spaced("10 millis"), Schedule.recurs(500))
      })
      expect(isGone(pid)).toBe(true)
    }))

  it.effect("a program that cannot be started fails as TokenCommandNotStarted", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TokenResolver.fromCommand("/nonexistent/attest").resolve(realmChallenge))
      expect(error).toMatchObject({ _tag: "TokenCommandNotStarted", command: "/nonexistent/attest", reason: "ENOENT" })
    }))
})

describe("token from a function", () => {
  it.effect("a rejected promise fails as TokenResolverFailed with its message", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TokenResolver.fromPromise(() => Promise.reject(new Error("RSI call failed")), "rsi").resolve(realmChallenge))
      expect(error).toMatchObject({ _tag: "TokenResolverFailed", source: "rsi", reason: "RSI call failed" })
    }))

  it.effect("the software attester (not hardware-backed) answers with a token whose realm challenge is the one asked for", () =>
    Effect.gen(function* () {
      const token = yield* TokenResolver.fromSoftwareAttester(SoftwareAttester.make()).resolve(realmChallenge)
      const decoded = Either.getOrThrow(CcaToken.decode(token))
      expect(hex(decoded.realm.claims.challenge)).toBe(hex(realmChallenge))
    }))
})
