/**
 * How both binaries run: logs on stderr, every failure rendered as one line naming what failed, and the
 * exit code (0 success, 1 failure, 2 bad usage). Results are the only thing written to stdout.
 */
import { ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, HashMap, Layer, Logger, Option } from "effect"
import { oneLine, withoutControls } from "../domain/internal/Quote.js"

/**
 * One line for an error: its own message when it has one, its tag so scripts can match on it. Messages
 * carry text from registries and files, so line breaks and control characters (terminal escapes) are
 * neutralised here, where they would reach the terminal.
 */
export const describeError = (error: unknown): string => oneLine(errorText(error))

const errorText = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error ? String((error as { _tag: unknown })._tag) : undefined
    const message = error instanceof Error ? error.message : undefined
    if (message !== undefined && message !== "" && message !== "An error has occurred") {
      return tag === undefined ? message : `${message} [${tag}]`
    }
    if (tag !== undefined) return `${tag} ${JSON.stringify(error)}`
  }
  return String(error)
}

/** `name: LEVEL message key=value …`: one log record on one line, neutralised like `describeError`. */
export const logLine = (
  name: string,
  level: string,
  message: unknown,
  annotations: ReadonlyArray<readonly [string, unknown]>
): string => {
  const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
  const fields = annotations.map(([key, value]) => ` ${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
  return `${name}: ${level} ${oneLine(`${text}${fields.join("")}`)}`
}

/** One line per log record, on stderr. */
const stderrLogger = (name: string) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, logLevel, message }) => {
      process.stderr.write(`${logLine(name, logLevel.label, message, HashMap.toEntries(annotations))}\n`)
    })
  )

export const runMain = <E>(name: string, program: (argv: ReadonlyArray<string>) => Effect.Effect<void, E, NodeContext.NodeContext>): void => {
  const main = program(process.argv).pipe(
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) {
          // @effect/cli has already shown the usage problem.
          process.exitCode = 2
          return
        }
        if (Cause.isInterruptedOnly(cause)) {
          process.stderr.write(`${name}: interrupted\n`)
          process.exitCode = 130
          return
        }
        const line = Option.match(failure, {
          onSome: describeError,
          onNone: () => `internal error: ${withoutControls(Cause.pretty(cause))}`
        })
        process.stderr.write(`${name}: error: ${line}\n`)
        process.exitCode = 1
      })
    ),
    Effect.provide(Layer.merge(NodeContext.layer, stderrLogger(name)))
  )
  NodeRuntime.runMain(main, { disableErrorReporting: true, disablePrettyLogger: true, teardown: exitOnceFlushed })
}

/**
 * Ends the process as soon as the program is over and its output flushed, with the exit code it set: left
 * to itself, Node spends tens of milliseconds more tearing down (stopping its threads, freeing the heap
 * piece by piece) before the shell gets the status. Nothing is left to run by then: every resource of the
 * program was released when its effect ended.
 */
const exitOnceFlushed = (): void => {
  const code = typeof process.exitCode === "number" ? process.exitCode : 0
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)))
}
