// File-system calls of the unpacker as Effects: one wrapper so that every failure becomes an
// `UnpackIoError` naming the file and the operation, and "does not exist" can be told apart.
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
