// Promise access to the scoped fixtures, for callers outside Effect (benchmark scripts, plain vitest).
// The resource stays up until `close()` is called; forgetting it leaks what the scope would have freed.
import { Effect, Exit, Scope } from "effect"

export interface Detached<A> {
  readonly value: A
  readonly close: () => Promise<void>
}

export const runDetached = async <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<Detached<A>> => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.extend(effect, scope))
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, exit))
    return Effect.runPromise(Effect.failCause(exit.cause))
  }
  return { value: exit.value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
