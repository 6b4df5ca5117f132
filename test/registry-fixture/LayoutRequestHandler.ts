// The Distribution pull API over a directory of OCI image layouts, as a node:http request listener that
// knows nothing of sockets: plain HTTP, TLS and RA-TLS listeners all hand their requests to it.
// Layouts are read on every request and served as they are, so a broken layout is a lying registry.
import { Data, Effect, Either, Option, Runtime } from "effect"
import type * as http from "node:http"
import { finished, pipeline } from "node:stream"
import * as Digest from "../../src/domain/Digest.js"
import * as MediaType from "../../src/domain/MediaType.js"
import * as Reference from "../../src/domain/Reference.js"
import * as RepositoryName from "../../src/domain/RepositoryName.js"
import {
  type BlobFile,
  findManifestDescriptor,
  type Layout,
  layoutDirectory,
  openBlob,
  readLayout,
  tagsOf
} from "./OciLayout.js"

/** One request as the handler answered it. */
export interface LayoutExchange {
  readonly method: string
  /** The request target as received, query included. */
  readonly path: string
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
}

export interface LayoutRequestHandlerOptions {
  /** Runs the handler's effects, so its log lines go to this runtime's logger. Default: the default runtime. */
  readonly runtime?: Runtime.Runtime<never>
  /** Called once per request, as the response head is written. */
  readonly onExchange?: (exchange: LayoutExchange) => void
}

// Registries refuse manifests above 4 MiB; a digest-only lookup reads at most that much to find the type.
const maxManifestBytes = 4 * 1024 * 1024

/** A request the registry turns down with an OCI error body. */
class Refusal extends Data.TaggedError("Refusal")<{
  readonly status: number
  readonly code: string
  readonly reason: string
  readonly detail?: unknown
  readonly headers?: Readonly<Record<string, string>>
}> {}

interface FileBody {
  readonly file: BlobFile
  readonly start: number
  /** Inclusive, as in Content-Range. */
  readonly end: number
}

interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string | number>>
  readonly body?: Uint8Array | FileBody
}

// ---------------------------------------------------------------------------------------------------
// Routing

type Route =
  | { readonly _tag: "Ping" }
  | { readonly _tag: "Manifest"; readonly name: string; readonly reference: string }
  | { readonly _tag: "Blob"; readonly name: string; readonly digest: string }
  | { readonly _tag: "Tags"; readonly name: string; readonly query: URLSearchParams }
  | { readonly _tag: "Unknown" }

const tagsSuffix = "/tags/list"

/**
 * Splits a request target into a route. The path is never percent-decoded: names, tags and digests have
 * no character that needs escaping, so `%2F` or `%2e%2e` stay in the part and make it fail its parser.
 * A reference or digest has no "/", so the last `/manifests/` or `/blobs/` ends the name.
 */
const routeOf = (target: string): Route => {
  const question = target.indexOf("?")
  const pathPart = question < 0 ? target : target.slice(0, question)
  const query = new URLSearchParams(question < 0 ? "" : target.slice(question + 1))
  if (pathPart === "/v2" || pathPart === "/v2/") return { _tag: "Ping" }
  if (!pathPart.startsWith("/v2/")) return { _tag: "Unknown" }
  const rest = pathPart.slice("/v2/".length)
  if (rest.endsWith(tagsSuffix)) return { _tag: "Tags", name: rest.slice(0, -tagsSuffix.length), query }
  const manifests = rest.lastIndexOf("/manifests/")
  const blobs = rest.lastIndexOf("/blobs/")
  if (manifests > blobs) {
    return { _tag: "Manifest", name: rest.slice(0, manifests), reference: rest.slice(manifests + "/manifests/".length) }
  }
  if (blobs >= 0) return { _tag: "Blob", name: rest.slice(0, blobs), digest: rest.slice(blobs + "/blobs/".length) }
  return { _tag: "Unknown" }
}

// ---------------------------------------------------------------------------------------------------
// Answers

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))

const jsonReply = (status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): Reply => {
  const body = json(value)
  return {
    status,
    headers: { "content-type": "application/json", "content-length": body.length, ...headers },
    body
  }
}

const refusalReply = (r: Refusal): Reply =>
  jsonReply(
    r.status,
    { errors: [{ code: r.code, message: r.reason, ...(r.detail === undefined ? {} : { detail: r.detail }) }] },
    r.headers
  )

const openLayout = (root: string, rawName: string): Effect.Effect<Layout, Refusal> =>
  Either.match(RepositoryName.parse(rawName), {
    onLeft: (e) => Effect.fail(new Refusal({ status: 400, code: "NAME_INVALID", reason: e.message })),
    onRight: (name) =>
      readLayout(layoutDirectory(root, name)).pipe(
        Effect.catchTags({
          LayoutMissing: () =>
            new Refusal({ status: 404, code: "NAME_UNKNOWN", reason: `repository ${name} is not known` }),
          LayoutUnreadable: (e) =>
            new Refusal({ status: 404, code: "NAME_UNKNOWN", reason: `repository ${name} is not known`, detail: e.reason })
        })
      )
  })

const parseDigest = (raw: string): Effect.Effect<Digest.Digest, Refusal> =>
  Either.match(Digest.parse(raw), {
    onLeft: (e) => Effect.fail(new Refusal({ status: 400, code: "DIGEST_INVALID", reason: e.message })),
    onRight: Effect.succeed
  })

const parseReference = (raw: string): Effect.Effect<Reference.Reference, Refusal> =>
  Either.match(Reference.parse(raw), {
    onLeft: (e) =>
      Effect.fail(
        new Refusal({ status: 400, code: raw.includes(":") ? "DIGEST_INVALID" : "TAG_INVALID", reason: e.message })
      ),
    onRight: Effect.succeed
  })

const manifestUnknown = (reason: string) => new Refusal({ status: 404, code: "MANIFEST_UNKNOWN", reason })

/** The media type a manifest file declares in its own `mediaType` field, if it is a manifest type. */
const declaredManifestType = (file: BlobFile): Effect.Effect<Option.Option<string>> =>
  file.size > maxManifestBytes
    ? Effect.succeed(Option.none())
    : Effect.map(Effect.promise(() => file.handle.read(Buffer.alloc(file.size), 0, file.size, 0)), ({ buffer }) => {
      try {
        const value: unknown = JSON.parse(buffer.toString("utf8"))
        const declared = typeof value === "object" && value !== null && "mediaType" in value
          ? value.mediaType
          : undefined
        return typeof declared === "string" && MediaType.manifestAccept.includes(declared)
          ? Option.some(declared)
          : Option.none()
      } catch {
        return Option.none()
      }
    })

const wholeFile = (file: BlobFile): FileBody => ({ file, start: 0, end: file.size - 1 })

const manifestReply = (root: string, rawName: string, rawReference: string) =>
  Effect.gen(function*() {
    const layout = yield* openLayout(root, rawName)
    const reference = yield* parseReference(rawReference)
    const { digest, mediaType } = yield* Reference.match(reference, {
      Tag: ({ tag }) =>
        Option.match(Option.fromNullable(tagsOf(layout).get(tag)), {
          onNone: () => Effect.fail(manifestUnknown(`tag ${tag} is not in ${rawName}`)),
          onSome: (d) => Effect.succeed({ digest: d.digest, mediaType: Option.some(d.mediaType) })
        }),
      Digest: ({ digest }) =>
        Effect.map(findManifestDescriptor(layout, digest), (d) => ({
          digest,
          mediaType: Option.map(d, (found) => found.mediaType)
        }))
    })
    const file = yield* openBlob(layout, digest)
    if (Option.isNone(file)) {
      return yield* manifestUnknown(`manifest ${digest} of ${rawName} is not in the layout's blobs`)
    }
    const type = Option.isSome(mediaType) ? mediaType : yield* declaredManifestType(file.value)
    if (Option.isNone(type)) return yield* manifestUnknown(`${digest} of ${rawName} is not a manifest`)
    return {
      status: 200,
      headers: { "content-type": type.value, "content-length": file.value.size, "docker-content-digest": digest },
      body: wholeFile(file.value)
    } satisfies Reply
  })

type RangeRequest =
  | { readonly _tag: "Whole" }
  | { readonly _tag: "Part"; readonly start: number; readonly end: number }
  | { readonly _tag: "Unsatisfiable" }

/**
 * Reads `Range: bytes=N-` and `bytes=N-M`. Anything else (several ranges, suffix ranges, garbage) is
 * ignored and the whole blob is sent, which RFC 9110 allows.
 */
const rangeOf = (header: string | undefined, size: number): RangeRequest => {
  const match = header === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(header.trim())
  if (match === null) return { _tag: "Whole" }
  const start = Number(match[1])
  const last = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1)
  if (start >= size) return { _tag: "Unsatisfiable" }
  if (last < start) return { _tag: "Whole" }
  return { _tag: "Part", start, end: last }
}

const blobReply = (root: string, rawName: string, rawDigest: string, range: string | undefined) =>
  Effect.gen(function*() {
    const layout = yield* openLayout(root, rawName)
    const digest = yield* parseDigest(rawDigest)
    const found = yield* openBlob(layout, digest)
    if (Option.isNone(found)) {
      return yield* new Refusal({ status: 404, code: "BLOB_UNKNOWN", reason: `blob ${digest} of ${rawName} is unknown` })
    }
    const file = found.value
    const common = {
      "content-type": "application/octet-stream",
      "docker-content-digest": digest,
      "accept-ranges": "bytes"
    }
    const requested = rangeOf(range, file.size)
    switch (requested._tag) {
      case "Unsatisfiable":
        return { status: 416, headers: { ...common, "content-range": `bytes */${file.size}`, "content-length": 0 } }
      case "Part":
        return {
          status: 206,
          headers: {
            ...common,
            "content-range": `bytes ${requested.start}-${requested.end}/${file.size}`,
            "content-length": requested.end - requested.start + 1
          },
          body: { file, start: requested.start, end: requested.end }
        } satisfies Reply
      case "Whole":
        return {
          status: 200,
          headers: { ...common, "content-length": file.size },
          body: wholeFile(file)
        } satisfies Reply
    }
  })

const tagsReply = (root: string, rawName: string, query: URLSearchParams) =>
  Effect.gen(function*() {
    const layout = yield* openLayout(root, rawName)
    const nText = query.get("n")
    if (nText !== null && !/^\d{1,9}$/.test(nText)) {
      return yield* new Refusal({
        status: 400,
        code: "PAGINATION_NUMBER_INVALID",
        reason: `n must be a non-negative integer, got ${JSON.stringify(nText)}`
      })
    }
    const last = query.get("last")
    const after = [...tagsOf(layout).keys()].sort().filter((t) => last === null || t > last)
    const page = nText === null ? after : after.slice(0, Number(nText))
    const lastOfPage = page[page.length - 1]
    const more = lastOfPage !== undefined && page.length < after.length
    return jsonReply(
      200,
      { name: rawName, tags: page },
      more ? { link: `</v2/${rawName}/tags/list?n=${nText}&last=${lastOfPage}>; rel="next"` } : {}
    )
  })

const readMethods = new Set(["GET", "HEAD"])

const answer = (root: string, method: string, target: string, headers: http.IncomingHttpHeaders) =>
  Effect.gen(function*() {
    const route = routeOf(target)
    if (route._tag === "Unknown") {
      return yield* new Refusal({ status: 404, code: "UNSUPPORTED", reason: `no endpoint at ${target}` })
    }
    if (!readMethods.has(method)) {
      return yield* new Refusal({
        status: 405,
        code: "UNSUPPORTED",
        reason: `${method} is not supported: this registry only serves pulls`,
        headers: { allow: "GET, HEAD" }
      })
    }
    switch (route._tag) {
      case "Ping":
        return jsonReply(200, {}, { "docker-distribution-api-version": "registry/2.0" })
      case "Manifest":
        return yield* manifestReply(root, route.name, route.reference)
      case "Blob":
        return yield* blobReply(root, route.name, route.digest, headers.range)
      case "Tags":
        return yield* tagsReply(root, route.name, route.query)
    }
  }).pipe(Effect.catchTag("Refusal", (r) => Effect.succeed(refusalReply(r))))

// ---------------------------------------------------------------------------------------------------
// Writing the response

/** Writes the reply; done when the response is finished or the connection is gone. */
const send = (req: http.IncomingMessage, res: http.ServerResponse, reply: Reply): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const done = () => resume(Effect.void)
    res.writeHead(reply.status, reply.headers)
    const body = reply.body
    if (req.method === "HEAD" || body === undefined || (!(body instanceof Uint8Array) && body.end < body.start)) {
      finished(res, done)
      res.end()
    } else if (body instanceof Uint8Array) {
      finished(res, done)
      res.end(body)
    } else {
      // The scope that opened the file closes it; the stream only reads the range.
      const source = body.file.handle.createReadStream({ start: body.start, end: body.end, autoClose: false })
      pipeline(source, res, done)
    }
    return Effect.sync(() => res.destroy())
  })

const failed = (res: http.ServerResponse, reason: string): Effect.Effect<boolean> =>
  Effect.sync(() => {
    if (res.headersSent) {
      res.destroy()
      return false
    }
    const body = json({ errors: [{ code: "UNKNOWN", message: reason }] })
    res.writeHead(500, { "content-type": "application/json", "content-length": body.length }).end(body)
    return true
  })

const serve = (
  root: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  onExchange: ((exchange: LayoutExchange) => void) | undefined
): Effect.Effect<void> => {
  const method = req.method ?? "GET"
  const target = req.url ?? "/"
  // Reported as the head goes out, so a client that has its answer also finds it in `requests()`.
  const report = (status: number) =>
    Effect.suspend(() => {
      onExchange?.({ method, path: target, status, headers: req.headers })
      return Effect.logInfo(`${method} ${target} ${status}`).pipe(Effect.annotateLogs({ method, path: target, status }))
    })
  return Effect.scoped(
    Effect.gen(function*() {
      const reply = yield* answer(root, method, target, req.headers)
      yield* report(reply.status)
      yield* send(req, res, reply)
    })
  ).pipe(
    Effect.catchAllCause((cause) =>
      Effect.gen(function*() {
        yield* Effect.logError("layout registry request failed", cause)
        if (yield* failed(res, "the layout registry failed to answer")) yield* report(500)
      })
    ),
    Effect.withSpan("LayoutRegistry.request", { attributes: { method, path: target } })
  )
}

/**
 * The layout registry for the layouts under `root`, as a plain request listener: mount it on any
 * `http.Server` / `https.Server`, or on a server fed Duplex connections by `server.emit("connection", d)`.
 */
export const layoutRequestHandler = (root: string, options: LayoutRequestHandlerOptions = {}): http.RequestListener => {
  const run = Runtime.runFork(options.runtime ?? Runtime.defaultRuntime)
  return (req, res) => {
    run(serve(root, req, res, options.onExchange))
  }
}
