#!/usr/bin/env node
/**
 * `client`: the lower-level registry calls from a shell: get-manifest, get-blob, list-tags.
 * Option parsing and rendering only; the work is done by RegistryApi.
 */
import { Command, Options } from "@effect/cli"
import * as NodeSink from "@effect/platform-node/NodeSink"
import { Chunk, Effect, Option, Stream } from "effect"
import { createWriteStream } from "node:fs"
import { rename, rm } from "node:fs/promises"
import { dirname, basename, join } from "node:path"
import { RegistryApi } from "../services/RegistryApi/RegistryApi.js"
import * as Client from "../services/Client/Client.js"
import { CliInputError, connection, toConfig, type ConnectionSettings } from "./ConnectionOptions.js"
import { runMain } from "./Main.js"
import { version } from "./Version.js"

const root = Command.make("client", connection)

const withRegistry = <A, E>(use: (registry: RegistryApi["Type"]) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const settings: ConnectionSettings = yield* root
    const config = yield* toConfig(settings)
    return yield* Effect.flatMap(RegistryApi, use).pipe(Effect.provide(Client.registryLayer(config)))
  })

const writeStdout = (bytes: Uint8Array) =>
  Effect.async<void>((resume) => {
    process.stdout.write(bytes, () => resume(Effect.void))
  })

const appName = Options.text("app-name").pipe(
  Options.withAlias("a"),
  Options.withDescription("Repository namespace (application name)")
)

const getManifest = Command.make(
  "get-manifest",
  {
    appName,
    reference: Options.text("reference").pipe(
      Options.withAlias("r"),
      Options.withDescription("Reference of manifest [digest or tag]")
    )
  },
  ({ appName, reference }) =>
    withRegistry((registry) =>
      Effect.gen(function* () {
        const manifest = yield* registry.getManifest(appName, reference)
        yield* Effect.logDebug("manifest verified").pipe(Effect.annotateLogs({ digest: manifest.digest }))
        const text = Buffer.from(manifest.bytes)
        yield* writeStdout(text.at(-1) === 0x0a ? text : Buffer.concat([text, Buffer.from("\n")]))
      })
    )
).pipe(Command.withDescription("Print manifest of application image"))

/** Writes into a temporary sibling and renames only once the stream verified, so `--out` never holds bad bytes. */
const writeFileAtomically = <E>(path: string, bytes: Stream.Stream<Uint8Array, E>) => {
  const temporary = join(dirname(path), `.${basename(path)}.partial-${process.pid}`)
  const onError = (error: unknown) => new CliInputError({ option: "--out", path, reason: String((error as Error).message ?? error) })
  return bytes.pipe(
    Stream.run(NodeSink.fromWritable(() => createWriteStream(temporary, { flags: "wx" }), onError)),
    Effect.zipRight(Effect.tryPromise({ try: () => rename(temporary, path), catch: onError })),
    Effect.onError(() => Effect.promise(() => rm(temporary, { force: true })))
  )
}

const getBlob = Command.make(
  "get-blob",
  {
    appName,
    digest: Options.text("digest").pipe(Options.withAlias("d"), Options.withDescription("Digest of a blob")),
    out: Options.text("out").pipe(Options.withAlias("o"), Options.withDescription("write blob to path"), Options.optional)
  },
  ({ appName, digest, out }) =>
    withRegistry((registry) => {
      const blob = registry.getBlob(appName, digest)
      return Option.match(out, {
        // On stdout the bytes flow as they arrive; a failed check still ends with a non-zero exit.
        onNone: () => Stream.run(blob, NodeSink.fromWritable(() => process.stdout, (e) => e, { endOnDone: false })),
        onSome: (path) =>
          writeFileAtomically(path, blob).pipe(
            Effect.tap(() => Effect.logInfo("blob verified and written").pipe(Effect.annotateLogs({ digest, path })))
          )
      })
    })
).pipe(Command.withDescription("Get blob file of application image"))

const listTags = Command.make(
  "list-tags",
  {
    appName,
    n: Options.integer("n").pipe(Options.withDescription("List only N tags"), Options.optional),
    last: Options.text("last").pipe(Options.withAlias("l"), Options.withDescription("Start listing tags after LAST"), Options.optional)
  },
  ({ appName, n, last }) =>
    withRegistry((registry) =>
      Effect.gen(function* () {
        const lastTag = Option.getOrUndefined(last)
        const list = yield* Option.match(n, {
          onSome: (count) => Effect.map(registry.listTags(appName, { n: count, last: lastTag }), (page) => ({ name: page.name, tags: page.tags })),
          // Without -n every tag is listed, following the registry's pagination.
          onNone: () =>
            registry.listAllTags(appName, { last: lastTag }).pipe(
              Stream.runCollect,
              Effect.map((tags) => ({ name: appName, tags: Chunk.toReadonlyArray(tags) }))
            )
        })
        yield* writeStdout(Buffer.from(`${JSON.stringify(list, null, 2)}\n`))
      })
    )
).pipe(Command.withDescription("List tags of application images"))

const command = root.pipe(
  Command.withDescription("Fetch manifests, blobs and tag lists from an OCI registry (plain HTTP, TLS or RA-TLS)"),
  Command.withSubcommands([getManifest, getBlob, listTags])
)

runMain("client", Command.run(command, { name: "client", version }))
