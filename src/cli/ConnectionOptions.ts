/**
 * The options both binaries share (`-a/--host`, `-t/--tls`, `--token`, `--root-ca`) with the seed's defaults,
 * and how they become a client Config. Files named by options are read here so that a missing or unreadable
 * one is reported by its path before any connection is made.
 */
import { Options } from "@effect/cli"
import { Data, Effect } from "effect"
import { readFile } from "node:fs/promises"
import * as Config from "../domain/Config.js"

export const host = Options.text("host").pipe(
  Options.withAlias("a"),
  Options.withDescription("Host url address [default: localhost:1337]"),
  Options.withDefault(Config.defaultHost)
)

export const tlsMode = Options.choice("tls", ["no-tls", "tls", "ra-tls"] as const).pipe(
  Options.withAlias("t"),
  Options.withDescription("Connection type [default: no-tls]"),
  Options.withDefault("no-tls" as const)
)

export const token = Options.text("token").pipe(
  Options.withPseudoName("token.bin"),
  Options.withDescription("CCA token file in binary CBOR format (used with ra-tls) [default: ./res/token.bin]"),
  Options.withDefault("./res/token.bin")
)

export const rootCa = Options.text("root-ca").pipe(
  Options.withPseudoName("root-ca.crt"),
  Options.withDescription("Root certificate file in PEM format (used with tls and ra-tls) [default: ./res/root-ca.crt]"),
  Options.withDefault("./res/root-ca.crt")
)

export const connection = { host, tls: tlsMode, token, rootCa }

export interface ConnectionSettings {
  readonly host: string
  readonly tls: "no-tls" | "tls" | "ra-tls"
  readonly token: string
  readonly rootCa: string
}

/** A file named on the command line could not be used. */
export class CliInputError extends Data.TaggedError("CliInputError")<{
  readonly option: string
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.option} ${this.path}: ${this.reason}`
  }
}

/** The requested mode exists in the CLI but not yet in this build. */
export class ModeUnavailable extends Data.TaggedError("ModeUnavailable")<{ readonly mode: string }> {
  override get message(): string {
    return `connection type ${this.mode} is not available yet in this version`
  }
}

export const readInputFile = (option: string, path: string): Effect.Effect<Buffer, CliInputError> =>
  Effect.tryPromise({
    try: () => readFile(path),
    catch: (error) =>
      new CliInputError({
        option,
        path,
        reason: (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String((error as Error).message ?? error)
      })
  })

export const toConfig = (settings: ConnectionSettings): Effect.Effect<Config.Config, CliInputError | ModeUnavailable> => {
  const builder = Config.builder().host(settings.host)
  switch (settings.tls) {
    case "no-tls":
      return Effect.succeed(builder.noTls())
    case "tls":
      return Effect.map(readInputFile("--root-ca", settings.rootCa), (pem) => builder.tls(pem.toString("utf8")))
    case "ra-tls":
      return Effect.fail(new ModeUnavailable({ mode: "ra-tls" }))
  }
}
