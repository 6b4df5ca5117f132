// File-system calls of the unpacker: one wrapper so that every failure becomes an `UnpackIoError` naming
// the file and the operation, and "does not exist" can be told apart. The per-entry calls are synchronous:
// each costs microseconds on the main thread, against a thread-pool round trip for its promise form.
import { Effect, Option } from "effect"
import { UnpackIoError } from "./UnpackError.js"

export const fsCall = <A>(operation: string, path: string, call: () => Promise<A>): Effect.Effect<A, UnpackIoError> =>
  Effect.tryPromise({ try: call, catch: (cause) => new UnpackIoError({ path, operation, cause }) })

export const errorCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/** Like `fsCall`, but a missing file (ENOENT) is `None` rather than an error. */
export const fsCallIfExists = <A>(
  operation: string,
  path: string,
  call: () => Promise<A>
): Effect.Effect<Option.Option<A>, UnpackIoError> =>
  fsCall(operation, path, call).pipe(
    Effect.map(Option.some),
    Effect.catchIf((e) => errorCode(e.cause) === "ENOENT", () => Effect.succeed(Option.none()))
  )

/** A synchronous call; a failure is thrown as an `UnpackIoError`. */
export const fsSync = <A>(operation: string, path: string, call: () => A): A => {
  try {
    return call()
  } catch (cause) {
    throw new UnpackIoError({ path, operation, cause })
  }
}

/**
 * Runs synchronous code that throws its typed failures: those for which `isFailure` holds fail the Effect,
 * anything else is a defect.
 */
export const trySync = <A, E>(run: () => A, isFailure: (u: unknown) => u is E): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(run())
    } catch (thrown) {
      return isFailure(thrown) ? Effect.fail(thrown) : Effect.die(thrown)
    }
  })
