// What a manifest is asked for by: a tag (`stable`) or a digest (`sha256:…`).
// As in the original client, text containing ":" is a digest and anything else a tag; a tag can never
// contain ":", so the two readings cannot overlap and `format` gives back the parsed text.
import { Data, Either } from "effect"
import * as Digest from "./Digest.js"
import { quote } from "./internal/Quote.js"
import * as Tag from "./Tag.js"

export type Reference = Data.TaggedEnum<{
  Tag: { readonly tag: Tag.Tag }
  Digest: { readonly digest: Digest.Digest }
}>

export type TagReference = Data.TaggedEnum.Value<Reference, "Tag">
export type DigestReference = Data.TaggedEnum.Value<Reference, "Digest">

const { $is, $match, Digest: makeDigest, Tag: makeTag } = Data.taggedEnum<Reference>()

export class InvalidReference extends Data.TaggedError("InvalidReference")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid reference ${quote(this.input)}: ${this.reason}`
  }
}

export const fromTag = (tag: Tag.Tag): Reference => makeTag({ tag })

export const fromDigest = (digest: Digest.Digest): Reference => makeDigest({ digest })

export const isTag: (r: Reference) => r is TagReference = $is("Tag")

export const isDigest: (r: Reference) => r is DigestReference = $is("Digest")

export const match = $match

export const parse = (input: string): Either.Either<Reference, InvalidReference> =>
  input.includes(":")
    ? Either.mapBoth(Digest.parse(input), {
      onLeft: (e) => new InvalidReference({ input, reason: `not a valid digest: ${e.reason}` }),
      onRight: fromDigest
    })
    : Either.mapBoth(Tag.parse(input), {
      onLeft: (e) => new InvalidReference({ input, reason: `not a valid tag: ${e.reason}` }),
      onRight: fromTag
    })

export const format = (r: Reference): string => r._tag === "Tag" ? r.tag : r.digest
