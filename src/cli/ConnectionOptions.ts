/**
 * The options both binaries share (`-a/--host`, `-t/--tls`, `--token`, `--token-command`, `--root-ca`) with
 * the seed's defaults, and how they become a client Config. Files named by options are read here so that a
 * missing or unreadable one is reported by its path before any connection is made.
 */
import { Options } from "@effect/cli"
import { Data, Effect, Either, Option } from "effect"
import { readFile } from "node:fs/promises"
import * as Config from "../domain/Config.js"
import * as RaTlsCertResolver from "../services/RaTlsCredentials/RaTlsCertResolver.js"
import * as TokenResolver from "../services/TokenResolver/TokenResolver.js"

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

export const tokenCommand = Options.text("token-command").pipe(
  Options.withPseudoName("program"),
  Options.withDescription(
    "Program that makes a fresh CCA token for each RA-TLS handshake (used with ra-tls; wins over --token): " +
      "it gets the 64-byte realm challenge as 128 lowercase hex digits in its last argument and writes the " +
      "binary CBOR token to stdout"
  ),
  Options.optional
)

export const rootCa = Options.text("root-ca").pipe(
  Options.withPseudoName("root-ca.crt"),
  Options.withDescription("Root certificate file in PEM format (used with tls and ra-tls) [default: ./res/root-ca.crt]"),
  Options.withDefault("./res/root-ca.crt")
)

export const connection = { host, tls: tlsMode, token, tokenCommand, rootCa }

export interface ConnectionSettings {
  readonly host: string
  readonly tls: "no-tls" | "tls" | "ra-tls"
  readonly token: string
  readonly tokenCommand: Option.Option<string>
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

const readRootCertificates = (path: string): Effect.Effect<string, CliInputError> =>
  Effect.flatMap(readInputFile("--root-ca", path), (pem) => {
    const text = pem.toString("utf8")
    return Either.match(Config.rootCertificateList([text]), {
      onLeft: (reason) => Effect.fail(new CliInputError({ option: "--root-ca", path, reason })),
      onRight: () => Effect.succeed(text)
    })
  })

/** `--token-command` when given, else the `--token` file, which must exist and hold something now. */
const tokenResolverOf = (settings: ConnectionSettings): Effect.Effect<TokenResolver.TokenResolver["Type"], CliInputError> =>
  Option.match(settings.tokenCommand, {
    onSome: (program) => Effect.succeed(TokenResolver.fromCommand(program)),
    onNone: () =>
      readInputFile("--token", settings.token).pipe(
        Effect.filterOrFail(
          (bytes) => bytes.length > 0,
          () => new CliInputError({ option: "--token", path: settings.token, reason: "the file is empty" })
        ),
        Effect.as(TokenResolver.fromFile(settings.token))
      )
  })

export const toConfig = (settings: ConnectionSettings): Effect.Effect<Config.Config, CliInputError> => {
  const builder = Config.builder().host(settings.host)
  switch (settings.tls) {
    case "no-tls":
      return Effect.succeed(builder.noTls())
    case "tls":
      return Effect.map(readInputFile("--root-ca", settings.rootCa), (pem) => builder.tls(pem.toString("utf8")))
    case "ra-tls":
      return Effect.gen(function* () {
        const roots = yield* readRootCertificates(settings.rootCa)
        const resolver = yield* tokenResolverOf(settings)
        return builder.raTls(roots, RaTlsCertResolver.fromTokenResolver(resolver))
      })
  }
}
