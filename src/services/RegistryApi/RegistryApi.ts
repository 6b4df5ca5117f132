/**
 * The lower-level registry client: the pull side of the OCI Distribution API (ping, manifests, blobs, tags)
 * on top of whatever HttpTransport is provided. Everything it returns has been checked against the digest it
 * was asked for or announced with; blobs are streams that fail rather than end on bad bytes.
 */
import { Chunk, Context, Effect, Either, Layer, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as Digest from "../../domain/Digest.js"
import * as Manifest from "../../domain/Manifest.js"
import * as MediaType from "../../domain/MediaType.js"
import * as Reference from "../../domain/Reference.js"
import * as RegistryErrorBody from "../../domain/RegistryError.js"
import * as RepositoryName from "../../domain/RepositoryName.js"
import type * as Tag from "../../domain/Tag.js"
import * as TagList from "../../domain/TagList.js"
import { BodyTooLarge, HttpTransport, readBody, type HttpResponse, type TransportError } from "../HttpTransport/HttpTransport.js"
import { verifyContent } from "./ContentVerifier.js"
import {
  DigestMismatch,
  InvalidResponse,
  ManifestTooLarge,
  RegistryError,
  SizeMismatch,
  Unauthorized
} from "./RegistryErrors.js"

/** Registries refuse manifests above 4 MiB; so do we, before reading them. */
export const maxManifestBytes = 4 * 1024 * 1024

export interface ManifestResponse {
  /** The digest of `bytes`: the requested digest, or the verified `Docker-Content-Digest`, or sha256. */
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly bytes: Uint8Array
  readonly manifest: Manifest.Manifest
}

export interface ManifestHead {
  readonly digest: Option.Option<Digest.Digest>
  readonly mediaType: Option.Option<string>
  readonly size: Option.Option<number>
}

export interface TagListOptions {
  /** Page size (`n`). */
  readonly n?: number | undefined
  /** List the tags after this one (`last`). */
  readonly last?: string | undefined
}

export interface TagPage {
  readonly name: string
  readonly tags: ReadonlyArray<Tag.Tag>
  /** Where the next page is, from the `Link: <…>; rel="next"` header. */
  readonly next: Option.Option<URL>
}

export interface AllTagsOptions {
  /** Tags asked for per request; the registry's default when absent. */
  readonly pageSize?: number | undefined
  /** Start after this tag. */
  readonly last?: string | undefined
}

export interface BlobOptions {
  /** The descriptor size; the stream fails if the blob is longer or shorter. */
  readonly size?: number | undefined
  /**
   * The caller is done with each chunk when it pulls the next one and keeps none (it copies what it keeps),
   * so the transport may reuse a chunk's memory after the next pull (`HttpRequest.transientBody`): a long
   * blob then flows through a few MiB of memory instead of fresh buffers. Default false.
   */
  readonly transient?: boolean | undefined
}

export type ApiError =
  | TransportError
  | RegistryError
  | Unauthorized
  | InvalidResponse
  | DigestMismatch
  | SizeMismatch
  | ManifestTooLarge
  | Manifest.InvalidManifest
  | TagList.InvalidTagList
  | RepositoryName.InvalidRepositoryName
  | Reference.InvalidReference
  | Digest.InvalidDigest

export class RegistryApi extends Context.Tag("oci-ratls-client/RegistryApi")<
  RegistryApi,
  {
    readonly origin: URL
    /** `GET /v2/`: succeeds when the registry speaks the Distribution API and lets us in. */
    readonly ping: () => Effect.Effect<void, ApiError>
    readonly getManifest: (
      name: string,
      reference: string | Reference.Reference
    ) => Effect.Effect<ManifestResponse, ApiError>
    readonly headManifest: (name: string, reference: string | Reference.Reference) => Effect.Effect<ManifestHead, ApiError>
    /** The blob's bytes, verified against `digest` (and `size` when given) as they pass. */
    readonly getBlob: (name: string, digest: string | Digest.Digest, options?: BlobOptions) => Stream.Stream<Uint8Array, ApiError>
    readonly listTags: (name: string, options?: TagListOptions) => Effect.Effect<TagPage, ApiError>
    /** Every tag, page after page, following `Link` headers. */
    readonly listAllTags: (name: string, options?: AllTagsOptions) => Stream.Stream<Tag.Tag, ApiError>
  }
>() {}

const maxRedirects = 5
const maxErrorBody = 64 * 1024

const fromEither = <A, E>(either: Either.Either<A, E>): Effect.Effect<A, E> => either

export const make = Effect.gen(function* () {
  const transport = yield* HttpTransport
  return (origin: URL): RegistryApi["Type"] => {
    const host = origin.host
    const urlFor = (path: string) => new URL(path, origin)
    const describe = (method: string, url: URL) => `${method} ${url.pathname}${url.search}`

    /** Turns a non-2xx answer into the error it stands for, reading at most a small error body. */
    const failFor = (method: string, url: URL, response: HttpResponse): Effect.Effect<never, ApiError> => {
      const request = describe(method, url)
      if (response.status === 401) {
        return Effect.fail(new Unauthorized({ host, request, challenge: response.headers["www-authenticate"] ?? "" }))
      }
      const body: Effect.Effect<Uint8Array, TransportError> =
        method === "HEAD"
          ? Effect.succeed(new Uint8Array())
          : readBody(response, url, maxErrorBody).pipe(
            Effect.catchTag("BodyTooLarge", () => Effect.succeed(new Uint8Array()))
          )
      return Effect.flatMap(body, (bytes) => {
        const parsed = RegistryErrorBody.decodeErrorBody(bytes)
        const first = Option.flatMap(parsed, (b) => Option.fromNullable(b.errors[0]))
        return Effect.fail(
          new RegistryError({
            host,
            request,
            status: response.status,
            code: Option.match(first, { onNone: () => statusCode(response.status), onSome: (e) => e.code }),
            detail: Option.match(first, {
              onNone: () => "",
              onSome: (e) => e.message ?? ""
            })
          })
        )
      })
    }

    /**
     * Sends a request and follows redirects. Redirects must stay on the registry's origin unless
     * `crossOrigin` (blobs, whose bytes are verified by digest, may live in other storage).
     */
    const send = (
      method: "GET" | "HEAD",
      url: URL,
      headers: Record<string, string>,
      crossOrigin: boolean,
      transientBody = false
    ): Effect.Effect<{ response: HttpResponse; url: URL }, ApiError, Scope.Scope> => {
      const loop = (current: URL, hops: number): Effect.Effect<{ response: HttpResponse; url: URL }, ApiError, Scope.Scope> =>
        Effect.flatMap(transport.request({ method, url: current, headers, transientBody }), (response) => {
          if (![301, 302, 303, 307, 308].includes(response.status)) return Effect.succeed({ response, url: current })
          const location = response.headers["location"]
          const fail = (reason: string) => Effect.fail(new InvalidResponse({ host, request: describe(method, current), reason }))
          if (location === undefined) return fail(`HTTP ${response.status} without a Location header`)
          if (hops >= maxRedirects) return fail(`more than ${maxRedirects} redirects`)
          let next: URL
          try {
            next = new URL(location, current)
          } catch {
            return fail(`redirect to an invalid location ${JSON.stringify(location)}`)
          }
          if (next.protocol !== "http:" && next.protocol !== "https:") return fail(`redirect to a ${next.protocol} URL`)
          if (!crossOrigin && next.origin !== origin.origin) return fail(`redirect to another origin ${next.origin}`)
          return loop(next, hops + 1)
        })
      return loop(url, 0)
    }

    const parseName = (name: string) => fromEither(RepositoryName.parse(name))
    const parseReference = (reference: string | Reference.Reference) =>
      typeof reference === "string" ? fromEither(Reference.parse(reference)) : Effect.succeed(reference)

    const manifestUrl = (name: RepositoryName.RepositoryName, reference: Reference.Reference) =>
      urlFor(`/v2/${name}/manifests/${Reference.format(reference)}`)

    const announcedDigest = (method: string, url: URL, response: HttpResponse) => {
      const header = response.headers["docker-content-digest"]
      if (header === undefined) return Effect.succeed(Option.none<Digest.Digest>())
      return Either.match(Digest.parse(header.trim()), {
        onLeft: (e) =>
          Effect.fail(new InvalidResponse({ host, request: describe(method, url), reason: `bad Docker-Content-Digest: ${e.reason}` })),
        onRight: (d) => Effect.succeed(Option.some(d))
      })
    }

    const getManifest = Effect.fn("RegistryApi.getManifest")(function* (
      nameText: string,
      referenceInput: string | Reference.Reference
    ) {
      const name = yield* parseName(nameText)
      const reference = yield* parseReference(referenceInput)
      const url = manifestUrl(name, reference)
      const subject = `manifest ${name}@${Reference.format(reference)}`
      yield* Effect.annotateCurrentSpan({ host, repository: name, reference: Reference.format(reference) })
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const { response } = yield* send("GET", url, { accept: MediaType.manifestAccept.join(", ") }, false)
          if (response.status !== 200) return yield* failFor("GET", url, response)
          const length = Number(response.headers["content-length"])
          if (Number.isFinite(length) && length > maxManifestBytes) {
            return yield* new ManifestTooLarge({ subject, limit: maxManifestBytes })
          }
          const bytes = yield* readBody(response, url, maxManifestBytes).pipe(
            Effect.catchIf(
              (e): e is BodyTooLarge => e._tag === "BodyTooLarge",
              () => new ManifestTooLarge({ subject, limit: maxManifestBytes })
            )
          )
          const announced = yield* announcedDigest("GET", url, response)
          // The digest we were asked for is the strongest claim; an announced one must hold too.
          const expected = Reference.isDigest(reference) ? Option.some(reference.digest) : announced
          for (const claim of [expected, announced]) {
            if (Option.isSome(claim)) {
              const actual = Digest.fromBytes(bytes, Digest.algorithm(claim.value))
              if (actual !== claim.value) {
                return yield* new DigestMismatch({ subject, expected: claim.value, actual })
              }
            }
          }
          const manifest = yield* fromEither(Manifest.decode(bytes, response.headers["content-type"]))
          return {
            digest: Option.getOrElse(expected, () => Digest.fromBytes(bytes)),
            mediaType: manifest.mediaType,
            bytes,
            manifest
          } satisfies ManifestResponse
        })
      )
    })

    const headManifest = Effect.fn("RegistryApi.headManifest")(function* (
      nameText: string,
      referenceInput: string | Reference.Reference
    ) {
      const name = yield* parseName(nameText)
      const reference = yield* parseReference(referenceInput)
      const url = manifestUrl(name, reference)
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const { response } = yield* send("HEAD", url, { accept: MediaType.manifestAccept.join(", ") }, false)
          if (response.status !== 200) return yield* failFor("HEAD", url, response)
          const digest = yield* announcedDigest("HEAD", url, response)
          if (Reference.isDigest(reference) && Option.isSome(digest) && digest.value !== reference.digest) {
            return yield* new DigestMismatch({
              subject: `manifest ${name}@${reference.digest}`,
              expected: reference.digest,
              actual: digest.value
            })
          }
          const length = Number(response.headers["content-length"])
          return {
            digest: Reference.isDigest(reference) ? Option.some(reference.digest) : digest,
            mediaType: Option.fromNullable(response.headers["content-type"]),
            size: Number.isSafeInteger(length) && length >= 0 ? Option.some(length) : Option.none()
          } satisfies ManifestHead
        })
      )
    })

    const getBlob = (nameText: string, digestInput: string | Digest.Digest, options?: BlobOptions) =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const name = yield* parseName(nameText)
          const digest = yield* fromEither(Digest.parse(digestInput))
          const url = urlFor(`/v2/${name}/blobs/${digest}`)
          const subject = `blob ${digest} of ${name}`
          const { response } = yield* send("GET", url, {}, true, options?.transient === true)
          if (response.status !== 200) return yield* failFor("GET", url, response)
          const length = Number(response.headers["content-length"])
          if (options?.size !== undefined && Number.isFinite(length) && length > options.size) {
            // Found without reading: the registry announces more bytes than the descriptor allows.
            return yield* new SizeMismatch({ subject, expected: options.size, actual: length })
          }
          return response.body.pipe(verifyContent({ subject, digest, size: options?.size }))
        }).pipe(Effect.withSpan("RegistryApi.getBlob"))
      )

    const tagsQuery = (options?: TagListOptions) => {
      const params = new URLSearchParams()
      if (options?.n !== undefined) params.set("n", String(options.n))
      if (options?.last !== undefined) params.set("last", options.last)
      const query = params.toString()
      return query === "" ? "" : `?${query}`
    }

    /**
     * One page of tags. The query's `n` and `last` are read back from the URL (a Link target carries its
     * own): registries that ignore them (Distribution 2.x answers every tag, unsorted) are caught by the
     * page holding more than `n` tags, a tag not after `last`, or tags out of lexical order, and the client
     * then applies the specified semantics itself: lexical order, after `last`, at most `n`.
     */
    const fetchTagPage = (url: URL) =>
      Effect.scoped(
        Effect.gen(function* () {
          const { response } = yield* send("GET", url, { accept: "application/json" }, false)
          if (response.status !== 200) return yield* failFor("GET", url, response)
          const bytes = yield* readBody(response, url, maxManifestBytes).pipe(
            Effect.catchTag("BodyTooLarge", (e) =>
              Effect.fail(new InvalidResponse({ host, request: describe("GET", url), reason: e.message }))
            )
          )
          const list = yield* fromEither(TagList.decode(bytes))
          const nText = url.searchParams.get("n")
          const n = nText === null ? undefined : Number(nText)
          const last = url.searchParams.get("last") ?? undefined
          const ignored = (n !== undefined && list.tags.length > n) ||
            (last !== undefined && list.tags.some((t) => t <= last)) ||
            list.tags.some((t, i) => i > 0 && list.tags[i - 1]! > t)
          if (!ignored) {
            const next = yield* nextLink(response.headers["link"], url)
            return { page: { name: list.name, tags: list.tags, next } satisfies TagPage, complete: false }
          }
          const after = [...list.tags].sort().filter((t) => last === undefined || t > last)
          const tags = n === undefined ? after : after.slice(0, n)
          const next = tags.length < after.length
            ? Option.some(withQuery(url, { n, last: tags[tags.length - 1] }))
            : Option.none<URL>()
          return { page: { name: list.name, tags, next } satisfies TagPage, complete: true, all: after }
        })
      )

    const withQuery = (url: URL, query: TagListOptions) => {
      const next = new URL(url)
      next.search = tagsQuery(query)
      return next
    }

    const nextLink = (header: string | undefined, url: URL) => {
      const target = header === undefined ? undefined : parseNextLink(header)
      if (target === undefined) return Effect.succeed(Option.none<URL>())
      let next: URL
      try {
        next = new URL(target, url)
      } catch {
        return Effect.fail(new InvalidResponse({ host, request: describe("GET", url), reason: `bad Link header ${JSON.stringify(header)}` }))
      }
      if (next.origin !== origin.origin) {
        return Effect.fail(new InvalidResponse({ host, request: describe("GET", url), reason: `Link to another origin ${next.origin}` }))
      }
      return Effect.succeed(Option.some(next))
    }

    const listTags = Effect.fn("RegistryApi.listTags")(function* (nameText: string, options?: TagListOptions) {
      const name = yield* parseName(nameText)
      const { page } = yield* fetchTagPage(urlFor(`/v2/${name}/tags/list${tagsQuery(options)}`))
      return page
    })

    const listAllTags = (nameText: string, options?: AllTagsOptions) =>
      Stream.unwrap(
        Effect.map(parseName(nameText), (name) => {
          const first = urlFor(`/v2/${name}/tags/list${tagsQuery({ n: options?.pageSize, last: options?.last })}`)
          const seen = new Set<string>()
          return Stream.paginateChunkEffect(first, (url) => {
            // A registry that links back to a page already read would keep us here forever.
            seen.add(url.href)
            return Effect.map(fetchTagPage(url), (result) => {
              // A registry that ignored the paging already sent everything: no need to ask again.
              if (result.complete) return [Chunk.fromIterable(result.all ?? result.page.tags), Option.none<URL>()] as const
              const next = Option.filter(result.page.next, (n) => !seen.has(n.href))
              return [Chunk.fromIterable(result.page.tags), next] as const
            })
          })
        })
      )

    const ping = Effect.fn("RegistryApi.ping")(function* () {
      const url = urlFor("/v2/")
      yield* Effect.scoped(
        Effect.gen(function* () {
          const { response } = yield* send("GET", url, {}, false)
          if (response.status !== 200) return yield* failFor("GET", url, response)
          yield* Stream.runDrain(response.body)
        })
      )
    })

    return { origin, ping, getManifest, headManifest, getBlob, listTags, listAllTags }
  }
})

const statusCode = (status: number): RegistryErrorBody.ErrorCode => {
  switch (status) {
    case 403:
      return "DENIED"
    case 404:
      return "NOT_FOUND"
    case 429:
      return "TOOMANYREQUESTS"
    default:
      return "UNKNOWN"
  }
}

/** The target of the `rel="next"` entry of a Link header (RFC 8288), if any. */
export const parseNextLink = (header: string): string | undefined => {
  for (const match of header.matchAll(/<([^>]*)>([^,<]*)/g)) {
    for (const param of (match[2] ?? "").split(";")) {
      const [key, ...rest] = param.split("=")
      if (key?.trim().toLowerCase() !== "rel") continue
      const relations = rest.join("=").trim().replace(/^"|"$/g, "").toLowerCase().split(/\s+/)
      if (relations.includes("next")) return match[1]
    }
  }
  return undefined
}

/** The registry client for `origin`, over the HttpTransport in context. */
export const layer = (origin: URL): Layer.Layer<RegistryApi, never, HttpTransport> =>
  Layer.effect(RegistryApi, Effect.map(make, (build) => build(origin)))
