#!/usr/bin/env node
/**
 * `get-image`: pulls an application image and unpacks it into a directory.
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { connection } from "./ConnectionOptions.js"
import { runMain } from "./Main.js"
import { version } from "./Version.js"

const command = Command.make(
  "get-image",
  {
    ...connection,
    appName: Options.text("app-name").pipe(Options.withAlias("n"), Options.withDescription("Repository namespace (application name)")),
    reference: Options.text("reference").pipe(Options.withAlias("r"), Options.withDescription("Reference of image manifest [digest or tag]")),
    dest: Options.directory("dest", { exists: "either" }).pipe(Options.withAlias("d"), Options.withDescription("directory to unpack the image"))
  },
  () => Effect.fail(new Error("get-image is not built yet: unpacking arrives with the next release"))
).pipe(Command.withDescription("Fetch an application image and unpack it into a directory"))

runMain("get-image", Command.run(command, { name: "get-image", version }))
