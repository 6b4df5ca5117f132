// Repository names (`library/ubuntu`, `com.samsung.example.app`): the `<name>` part of every registry URL.
// The grammar is the distribution spec's: path components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`,
// at most 255 characters, so a parsed name can be placed into a URL path without escaping.
import { Brand, Data, Either, Schema } from "effect"
import { quote } from "./internal/Quote.js"

export type RepositoryName = string & Brand.Brand<"RepositoryName">

export class InvalidRepositoryName extends Data.TaggedError("InvalidRepositoryName")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid repository name ${quote(this.input)}: ${this.reason}`
  }
}

const maxLength = 255
const component = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/

const componentViolation = (part: string, index: number): string | undefined => {
  const which = `path component ${index + 1}`
  if (part.length === 0) {
    return `${which} is empty (no leading, trailing or doubled "/")`
  }
  if (component.test(part)) {
    return undefined
  }
  const uppercase = /[A-Z]/.exec(part)
  if (uppercase !== null) {
    return `${which} ${quote(part)} contains the uppercase letter ${quote(uppercase[0])} (only lowercase is allowed)`
  }
  const foreign = /[^a-z0-9._-]/.exec(part)
  if (foreign !== null) {
    return `${which} ${quote(part)} contains ${quote(foreign[0])} (only a-z, 0-9, ".", "_", "__" and "-" are allowed)`
  }
  return `${which} ${quote(part)} must start and end with a letter or digit and separate them only by ".", "_", "__" or a run of "-"`
}

const violation = (input: string): string | undefined => {
  if (input.length === 0) {
    return "a repository name cannot be empty"
  }
  if (input.length > maxLength) {
    return `a repository name has at most ${maxLength} characters, got ${input.length}`
  }
  const parts = input.split("/")
  for (let i = 0; i < parts.length; i++) {
    const reason = componentViolation(parts[i]!, i)
    if (reason !== undefined) {
      return reason
    }
  }
  return undefined
}

export const RepositoryName = Schema.String.pipe(
  Schema.filter((s) => violation(s) ?? true),
  Schema.brand("RepositoryName"),
  Schema.annotations({
    identifier: "RepositoryName",
    description: "a repository name, lowercase path components joined by \"/\""
  })
)

export const parse = (input: string): Either.Either<RepositoryName, InvalidRepositoryName> => {
  const reason = violation(input)
  return reason === undefined
    ? Either.right(input as RepositoryName)
    : Either.left(new InvalidRepositoryName({ input, reason }))
}
