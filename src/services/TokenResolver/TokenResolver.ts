// Where the attestation token of an RA-TLS handshake comes from: a service that turns the 64-byte realm
// challenge (SHA-512 of the server's challenge and the client's public key) into CBOR token bytes. A file,
// a program, a function, or (for development only) the software attester; a CCA realm would call RSI here.
import { Context, Effect, Either, Layer } from "effect"
import { readFile } from "node:fs/promises"
import type { SoftwareAttester } from "../../domain/cca/SoftwareAttester.js"
import * as TokenCommand from "./TokenCommand.js"
import {
  TokenEmpty,
  TokenFileUnreadable,
  TokenResolverFailed,
  TokenTooLarge,
  type TokenResolverError
} from "./TokenResolverError.js"

export class TokenResolver extends Context.Tag("oci-ratls-client/TokenResolver")<
  TokenResolver,
  {
    /** The token for one handshake; `realmChallenge` is 64 bytes. */
    readonly resolve: (realmChallenge: Uint8Array) => Effect.Effect<Uint8Array, TokenResolverError>
  }
>() {}

export type { TokenCommandOptions } from "./TokenCommand.js"

/** Files beyond this size are not tokens (real CCA tokens are a few KiB). */
export const maxFileBytes = 1024 * 1024

/** A resolver from an Effect-returning function. */
export const make = (
  resolve: (realmChallenge: Uint8Array) => Effect.Effect<Uint8Array, TokenResolverError>
): TokenResolver["Type"] => TokenResolver.of({ resolve })

/**
 * The seed's `--token`: the same file for every handshake, read at each one so a file refreshed by another
 * process is picked up. Its token answers a fixed challenge, so only servers that skip the binding check
 * (RA-TLS.md section 4, step 5) accept it.
 */
export const fromFile = (path: string): TokenResolver["Type"] =>
  make(() =>
    Effect.tryPromise({
      try: () => readFile(path),
      catch: (error) => {
        const code = (error as NodeJS.ErrnoException).code
        return new TokenFileUnreadable({ path, reason: code === "ENOENT" ? "no such file" : String((error as Error).message ?? error) })
      }
    }).pipe(
      Effect.filterOrFail((bytes) => bytes.length > 0, () => new TokenEmpty({ source: `token file ${path}` })),
      Effect.filterOrFail((bytes) => bytes.length <= maxFileBytes, () => new TokenTooLarge({ source: `token file ${path}`, limit: maxFileBytes })),
      Effect.map((bytes) => new Uint8Array(bytes))
    )
  )

/**
 * A program that makes a fresh token for each challenge (see TokenCommand.ts for its calling convention):
 * `command args... <realm challenge as lowercase hex>`, token bytes on stdout.
 */
export const fromCommand = (
  command: string,
  args: ReadonlyArray<string> = [],
  options: TokenCommand.TokenCommandOptions = {}
): TokenResolver["Type"] => make((realmChallenge) => TokenCommand.run(command, args, realmChallenge, options))

/** A resolver from a Promise-returning function; a rejection or an empty answer becomes a typed error. */
export const fromPromise = (
  resolve: (realmChallenge: Uint8Array) => Promise<Uint8Array>,
  source = "token resolver function"
): TokenResolver["Type"] =>
  make((realmChallenge) =>
    Effect.tryPromise({
      try: () => resolve(realmChallenge),
      catch: (error) => new TokenResolverFailed({ source, reason: error instanceof Error ? error.message : String(error) })
    }).pipe(Effect.filterOrFail((bytes) => bytes.length > 0, () => new TokenEmpty({ source })))
  )

/**
 * NOT hardware-backed: tokens from the in-process software attester, in the real format and bound to the
 * challenge, for development and tests. They prove nothing about the machine they come from.
 */
export const fromSoftwareAttester = (attester: SoftwareAttester): TokenResolver["Type"] =>
  make((realmChallenge) =>
    Either.match(attester.attest(realmChallenge), {
      onLeft: (error) => Effect.fail(new TokenResolverFailed({ source: "software attester (not hardware-backed)", reason: error.message })),
      onRight: Effect.succeed
    })
  )

export const layer = (resolver: TokenResolver["Type"]): Layer.Layer<TokenResolver> => Layer.succeed(TokenResolver, resolver)

export const layerFromFile = (path: string): Layer.Layer<TokenResolver> => layer(fromFile(path))

export const layerFromCommand = (
  command: string,
  args: ReadonlyArray<string> = [],
  options: TokenCommand.TokenCommandOptions = {}
): Layer.Layer<TokenResolver> => layer(fromCommand(command, args, options))

export * from "./TokenResolverError.js"
