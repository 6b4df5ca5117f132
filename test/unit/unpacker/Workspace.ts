// A scratch directory per test: where the image goes (`dest`), a `temp` directory, and a `canary`
// directory outside the destination that no layer may touch. Also runs the Unpacker service the way
// a caller would, returning the outcome as an Either.
import { Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { onTestFinished } from "vitest"
import type { UnpackError } from "../../../src/services/Unpacker/UnpackError.js"
import type { UnpackInput, UnpackResult } from "../../../src/services/Unpacker/Unpacker.js"
import { Unpacker } from "../../../src/services/Unpacker/Unpacker.js"
import * as TreeSnapshot from "./TreeSnapshot.js"

export interface Workspace {
  readonly dir: string
  readonly dest: string
  readonly temp: string
  readonly canary: string
  /** The canary's tree as it was made; compare with `TreeSnapshot.take(canary)` afterwards. */
  readonly canaryBefore: TreeSnapshot.TreeSnapshot
  /** Names in `dir` other than the destination, the canary and temp: staging or aside leftovers. */
  readonly leftovers: () => Promise<ReadonlyArray<string>>
}

/** A fresh workspace, removed when the test finishes. */
export const workspace = async (): Promise<Workspace> => {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "unpacker-test-")))
  onTestFinished(() => fs.rm(dir, { recursive: true, force: true }))
  const canary = path.join(dir, "canary")
  const temp = path.join(dir, "temp")
  await fs.mkdir(path.join(canary, "nested"), { recursive: true })
  await fs.mkdir(temp)
  await fs.writeFile(path.join(canary, "secret"), "canary secret\n")
  await fs.writeFile(path.join(canary, "nested", "keep"), "keep me\n")
  const canaryBefore = await TreeSnapshot.take(canary)
  const known = new Set(["image", "canary", "temp"])
  return {
    dir,
    dest: path.join(dir, "image"),
    temp,
    canary,
    canaryBefore,
    leftovers: async () => (await fs.readdir(dir)).filter((name) => !known.has(name))
  }
}

export const exists = (p: string): Promise<boolean> => fs.lstat(p).then(() => true, () => false)

/** Runs the unpack through the service, as a library user would. */
export const unpackEither = <E>(input: UnpackInput<E>): Promise<Either.Either<UnpackResult, UnpackError | E>> =>
  Effect.runPromise(
    Effect.either(Effect.flatMap(Unpacker, (unpacker) => unpacker.unpack(input))).pipe(Effect.provide(Unpacker.layer))
  )

/** Runs the unpack and fails the test with the error when it fails. */
export const unpackOk = async <E>(input: UnpackInput<E>): Promise<UnpackResult> => {
  const result = await unpackEither(input)
  if (Either.isLeft(result)) throw new Error(`unpack failed: ${String(result.left)}`)
  return result.right
}

/** The `_tag` of the failure, or "success". */
export const outcomeTag = <A, E>(result: Either.Either<A, E>): string =>
  Either.isRight(result) ? "success" : (result.left as { _tag?: string })._tag ?? String(result.left)
