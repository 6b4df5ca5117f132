// Runs the token program of `--token-command`. The convention: the realm challenge (64 bytes) is the LAST
// argument, as 128 lowercase hex digits; stdin is empty; the program writes the raw CBOR token to stdout and
// exits 0. Anything else (no start, a non-zero exit, silence, too much output, no end in time) is a typed error.
import { Duration, Effect } from "effect"
import { spawn } from "node:child_process"
import {
  TokenCommandFailed,
  TokenCommandNotStarted,
  TokenCommandTimedOut,
  TokenEmpty,
  TokenTooLarge,
  type TokenResolverError
} from "./TokenResolverError.js"

export interface TokenCommandOptions {
  /** How long the program may run; default 30 seconds. */
  readonly timeout?: Duration.DurationInput
  /** Most bytes accepted on stdout; default 1 MiB (real CCA tokens are a few KiB). */
  readonly maxBytes?: number
}

const defaultTimeout = Duration.seconds(30)
const defaultMaxBytes = 1024 * 1024
/** How much of the program's stderr an error keeps: its last lines are what explains a failure. */
const stderrTail = 600

const describe = (command: string) => `token command ${command}`

const tail = (text: string): string => {
  const trimmed = text.trim()
  return trimmed.length <= stderrTail ? trimmed : `…${trimmed.slice(-stderrTail)}`
}

export const run = (
  command: string,
  args: ReadonlyArray<string>,
  realmChallenge: Uint8Array,
  options: TokenCommandOptions = {}
): Effect.Effect<Uint8Array, TokenResolverError> => {
  const maxBytes = options.maxBytes ?? defaultMaxBytes
  const timeout = Duration.decode(options.timeout ?? defaultTimeout)
  const execution = Effect.async<Uint8Array, TokenResolverError>((resume) => {
    const child = spawn(command, [...args, Buffer.from(realmChallenge).toString("hex")], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    const output: Array<Buffer> = []
    let size = 0
    let stderr = ""
    let settled = false
    const settle = (result: Effect.Effect<Uint8Array, TokenResolverError>) => {
      if (settled) return
      settled = true
      resume(result)
    }
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        child.kill("SIGKILL")
        settle(Effect.fail(new TokenTooLarge({ source: describe(command), limit: maxBytes })))
      } else {
        output.push(chunk)
      }
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4 * stderrTail)
    })
    child.on("error", (error: NodeJS.ErrnoException) =>
      settle(Effect.fail(new TokenCommandNotStarted({ command, reason: error.code ?? error.message }))))
    child.on("close", (exitCode, signal) => {
      if (exitCode !== 0) {
        settle(Effect.fail(new TokenCommandFailed({ command, exitCode, signal, stderr: tail(stderr) })))
      } else if (size === 0) {
        settle(Effect.fail(new TokenEmpty({ source: describe(command) })))
      } else {
        settle(Effect.succeed(new Uint8Array(Buffer.concat(output))))
      }
    })
    return Effect.sync(() => {
      settled = true
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    })
  })
  return execution.pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new TokenCommandTimedOut({ command, millis: Duration.toMillis(timeout) })
    })
  )
}
