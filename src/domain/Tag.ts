// Image tags: the mutable names (`latest`, `v1.2.3`) that a registry maps to a manifest.
// The grammar is the distribution spec's `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`; a `Tag` value can only come
// from `parse`, so it is always safe to put into a request path.
import { Brand, Data, Either, Schema } from "effect"
import { quote } from "./internal/Quote.js"

export type Tag = string & Brand.Brand<"Tag">

export class InvalidTag extends Data.TaggedError("InvalidTag")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid tag ${quote(this.input)}: ${this.reason}`
  }
}

const maxLength = 128
const firstCharacter = /[a-zA-Z0-9_]/
const laterCharacter = /[a-zA-Z0-9._-]/

const violation = (input: string): string | undefined => {
  if (input.length === 0) {
    return "a tag cannot be empty"
  }
  if (input.length > maxLength) {
    return `a tag has at most ${maxLength} characters, got ${input.length}`
  }
  if (!firstCharacter.test(input.charAt(0))) {
    return `a tag starts with a letter, a digit or "_", not ${quote(input.charAt(0))}`
  }
  for (let i = 1; i < input.length; i++) {
    const c = input.charAt(i)
    if (!laterCharacter.test(c)) {
      return `character ${quote(c)} at position ${i + 1} is not allowed (letters, digits, "_", "." and "-" only)`
    }
  }
  return undefined
}

export const Tag = Schema.String.pipe(
  Schema.filter((s) => violation(s) ?? true),
  Schema.brand("Tag"),
  Schema.annotations({ identifier: "Tag", description: "an image tag, [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}" })
)

export const parse = (input: string): Either.Either<Tag, InvalidTag> => {
  const reason = violation(input)
  return reason === undefined ? Either.right(input as Tag) : Either.left(new InvalidTag({ input, reason }))
}
