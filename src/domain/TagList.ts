// The answer to `GET /v2/<name>/tags/list`: the repository name and one page of its tags.
// Registries answer `"tags": null` (or leave the field out) for a repository without tags; both read as an
// empty list so callers need not tell the cases apart.
import { Data, Either, Schema } from "effect"
import * as JsonDocument from "./internal/JsonDocument.js"
import { Tag } from "./Tag.js"

export const TagList = Schema.Struct({
  name: Schema.String,
  tags: Schema.optionalWith(Schema.Array(Tag), { nullable: true, default: () => [] })
}).annotations({ identifier: "TagList" })

export type TagList = typeof TagList.Type

export class InvalidTagList extends Data.TaggedError("InvalidTagList")<{
  readonly reason: string
}> {
  override get message(): string {
    return `invalid tag list: ${this.reason}`
  }
}

const decodeJson = JsonDocument.decode(TagList)

export const decode = (bytes: Uint8Array): Either.Either<TagList, InvalidTagList> =>
  Either.mapLeft(decodeJson(bytes), (reason) => new InvalidTagList({ reason }))
