#!/usr/bin/env node
/**
 * `get-image`: pulls an application image and unpacks it into a directory, all or nothing, with progress
 * on stderr and a summary on stdout.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { tmpdir } from "node:os"
import * as Client from "../services/Client/Client.js"
import { connection, toConfig } from "./ConnectionOptions.js"
import { runMain } from "./Main.js"
import { formatBytes, ProgressView } from "./ProgressView.js"
import { version } from "./Version.js"

const command = Command.make(
  "get-image",
  {
    ...connection,
    appName: Options.text("app-name").pipe(Options.withAlias("n"), Options.withDescription("Repository namespace (application name)")),
    reference: Options.text("reference").pipe(Options.withAlias("r"), Options.withDescription("Reference of image manifest [digest or tag]")),
    dest: Options.text("dest").pipe(Options.withAlias("d"), Options.withDescription("directory to unpack the image")),
    temp: Options.text("temp").pipe(
      Options.withDescription("directory for downloads and staging; used when on the same file system as --dest [default: the system's]"),
      Options.optional
    ),
    replace: Options.boolean("replace").pipe(Options.withDescription("replace an existing image at --dest (atomically)")),
    platform: Options.text("platform").pipe(
      Options.withDescription("platform to pick from an index, e.g. linux/arm64/v8 [default: this machine's]"),
      Options.optional
    ),
    specialFiles: Options.choice("special-files", ["skip", "fail"] as const).pipe(
      Options.withDescription("what to do with device nodes and fifos [default: skip]"),
      Options.withDefault("skip" as const)
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDescription("layers downloaded at once [default: 3]"),
      Options.withDefault(3)
    )
  },
  (args) =>
    Effect.gen(function* () {
      const config = yield* toConfig(args)
      const client = yield* Client.fromConfig(config)
      const started = Date.now()
      const info = yield* client.getImageInfo(args.appName, args.reference, { platform: Option.getOrUndefined(args.platform) })
      yield* Effect.logInfo("image found").pipe(
        Effect.annotateLogs({ digest: info.digest, layers: String(info.layers.length) })
      )
      const view = new ProgressView(info.layers)
      const result = yield* client.unpackImage(info, args.dest, Option.getOrElse(args.temp, tmpdir), {
        replace: args.replace,
        specialFiles: args.specialFiles,
        concurrency: args.concurrency,
        onProgress: view.onProgress
      })
      view.finish()
      const bytes = info.layers.reduce((n, l) => n + l.size, 0)
      const seconds = (Date.now() - started) / 1000
      process.stdout.write(
        [
          `unpacked ${args.appName}:${args.reference} into ${result.dest}`,
          `  digest  ${info.digest}`,
          `  layers  ${info.layers.length} (${formatBytes(bytes)} downloaded, ${result.layers.reduce((n, l) => n + l.entries, 0)} entries)`,
          `  time    ${seconds.toFixed(2)} s`
        ].join("\n") + "\n"
      )
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Fetch an application image and unpack it into a directory"))

runMain("get-image", Command.run(command, { name: "get-image", version }))
