import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { type ConnectionSettings, toConfig } from "../../../src/cli/ConnectionOptions.js"
import { makeRootCa } from "../tls13/TestPki.js"

const workspace = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ratls-options-"))
    writeFileSync(path.join(dir, "root-ca.crt"), (await makeRootCa("CLI Root")).certificatePem)
    writeFileSync(path.join(dir, "token.bin"), Buffer.from("d9018f", "hex"))
    writeFileSync(path.join(dir, "empty.bin"), "")
    return dir
  }),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const settings = (dir: string, overrides: Partial<ConnectionSettings> = {}): ConnectionSettings => ({
  host: "127.0.0.1:1337",
  tls: "ra-tls",
  token: path.join(dir, "token.bin"),
  tokenCommand: Option.none(),
  rootCa: path.join(dir, "root-ca.crt"),
  ...overrides
})

describe("-t ra-tls on the command line", () => {
  it.scoped("with --root-ca and --token makes an RA-TLS config", () =>
    Effect.gen(function* () {
      const config = yield* toConfig(settings(yield* workspace))
      expect(config.mode._tag).toBe("RaTls")
    }))

  it.scoped("a missing --token file is reported by its path before connecting", () =>
    Effect.gen(function* () {
      const dir = yield* workspace
      const error = yield* Effect.flip(toConfig(settings(dir, { token: path.join(dir, "absent.bin") })))
      expect(error).toMatchObject({ _tag: "CliInputError", option: "--token", reason: "no such file" })
    }))

  it.scoped("an empty --token file is refused", () =>
    Effect.gen(function* () {
      const dir = yield* workspace
      const error = yield* Effect.flip(toConfig(settings(dir, { token: path.join(dir, "empty.bin") })))
      expect(error).toMatchObject({ _tag: "CliInputError", option: "--token", reason: "the file is empty" })
    }))

  it.scoped("--token-command wins over --token, whose file is then not needed", () =>
    Effect.gen(function* () {
      const dir = yield* workspace
      const config = yield* toConfig(settings(dir, { token: path.join(dir, "absent.bin"), tokenCommand: Option.some("/usr/bin/attest") }))
      expect(config.mode._tag).toBe("RaTls")
    }))

  it.scoped("a --root-ca file that holds no certificate is refused naming the option", () =>
    Effect.gen(function* () {
      const dir = yield* workspace
      const error = yield* Effect.flip(toConfig(settings(dir, { rootCa: path.join(dir, "token.bin") })))
      expect(error).toMatchObject({ _tag: "CliInputError", option: "--root-ca", reason: "root certificate 0 is not a valid X.509 certificate" })
    }))
})
