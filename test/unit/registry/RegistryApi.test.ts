import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import * as MediaType from "../../../src/domain/MediaType.js"
import * as RegistryApi from "../../../src/services/RegistryApi/RegistryApi.js"
import { json, memoryTransport, type CannedResponse } from "./MemoryTransport.js"
import type { HttpRequest } from "../../../src/services/HttpTransport/HttpTransport.js"

const origin = new URL("http://registry.test:5000")
const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const manifestBody = json({
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: sha256("config"), size: 6 },
  layers: []
})

const run = <A, E>(handler: (r: HttpRequest) => CannedResponse, use: (api: RegistryApi.RegistryApi["Type"]) => Effect.Effect<A, E>) => {
  const transport = memoryTransport(handler)
  const effect = Effect.flatMap(RegistryApi.RegistryApi, use).pipe(
    Effect.provide(RegistryApi.layer(origin)),
    Effect.provide(transport.layer)
  )
  return { effect, requests: transport.requests }
}

const failureTag = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.match(exit, {
    onSuccess: () => "success",
    onFailure: (cause) => {
      const failure = cause._tag === "Fail" ? cause.error : undefined
      return (failure as { _tag?: string } | undefined)?._tag ?? `defect: ${String(cause)}`
    }
  })

describe("RegistryApi.getManifest", () => {
  it.effect("asks for every manifest and index type in Accept", () => {
    const { effect, requests } = run(
      () => ({ status: 200, headers: { "content-type": MediaType.OciManifest }, body: manifestBody }),
      (api) => api.getManifest("some/app", "v1")
    )
    return Effect.map(effect, (response) => {
      const accept = requests[0]?.headers?.["accept"] ?? ""
      for (const type of [MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList]) {
        expect(accept).toContain(type)
      }
      expect(requests[0]?.url.pathname).toBe("/v2/some/app/manifests/v1")
      expect(response.digest).toBe(sha256(manifestBody))
      expect(response.manifest._tag).toBe("Image")
    })
  })

  it.effect("a manifest fetched by digest must hash to that digest", () => {
    const asked = sha256("something else")
    const { effect } = run(
      () => ({ status: 200, headers: { "content-type": MediaType.OciManifest }, body: manifestBody }),
      (api) => api.getManifest("some/app", asked)
    )
    return Effect.map(Effect.exit(effect), (exit) => expect(failureTag(exit)).toBe("DigestMismatch"))
  })

  it.effect("a manifest whose Docker-Content-Digest lies is refused", () => {
    const { effect } = run(
      () => ({
        status: 200,
        headers: { "content-type": MediaType.OciManifest, "docker-content-digest": sha256("lie") },
        body: manifestBody
      }),
      (api) => api.getManifest("some/app", "v1")
    )
    return Effect.map(Effect.exit(effect), (exit) => expect(failureTag(exit)).toBe("DigestMismatch"))
  })

  it.effect("a manifest announced larger than 4 MiB is refused unread", () => {
    const { effect } = run(
      () => ({ status: 200, headers: { "content-type": MediaType.OciManifest, "content-length": String(5 * 1024 * 1024) }, body: manifestBody }),
      (api) => api.getManifest("some/app", "v1")
    )
    return Effect.map(Effect.exit(effect), (exit) => expect(failureTag(exit)).toBe("ManifestTooLarge"))
  })

  it.effect("a manifest body that grows past 4 MiB without a length is cut off", () => {
    const { effect } = run(
      () => ({ status: 200, headers: { "content-type": MediaType.OciManifest }, body: new Uint8Array(4 * 1024 * 1024 + 1), chunkSize: 65536 }),
      (api) => api.getManifest("some/app", "v1")
    )
    return Effect.map(Effect.exit(effect), (exit) => expect(failureTag(exit)).toBe("ManifestTooLarge"))
  })

  it.effect("an OCI error body becomes a RegistryError carrying its code", () => {
    const { effect } = run(
      () => ({ status: 404, body: json({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }) }),
      (api) => api.getManifest("some/app", "nope")
    )
    return Effect.map(Effect.flip(effect), (error) => {
      expect(error._tag).toBe("RegistryError")
      expect(error._tag === "RegistryError" && error.code).toBe("MANIFEST_UNKNOWN")
      expect(error.message).toContain("/v2/some/app/manifests/nope")
    })
  })

  it.effect("401 becomes Unauthorized carrying the WWW-Authenticate challenge", () => {
    const challenge = 'Bearer realm="https://auth.test/token",service="registry.test"'
    const { effect } = run(() => ({ status: 401, headers: { "www-authenticate": challenge } }), (api) => api.ping())
    return Effect.map(Effect.flip(effect), (error) => {
      expect(error._tag).toBe("Unauthorized")
      expect(error._tag === "Unauthorized" && error.challenge).toBe(challenge)
    })
  })

  it.effect("a redirect of a manifest to another origin is refused", () => {
    const { effect } = run(
      () => ({ status: 307, headers: { location: "http://elsewhere.test/m" } }),
      (api) => api.getManifest("some/app", "v1")
    )
    return Effect.map(Effect.exit(effect), (exit) => expect(failureTag(exit)).toBe("InvalidResponse"))
  })

  it.effect("a Docker-Content-Digest header that is not a digest is an InvalidResponse naming it", () => {
    const { effect } = run(
      () => ({ status: 200, headers: { "content-type": MediaType.OciManifest, "docker-content-digest": "md5:abc" }, body: manifestBody }),
      (api) => api.getManifest("some/app", "v1")
    )
    return Effect.map(Effect.flip(effect), (error) => {
      expect(error._tag).toBe("InvalidResponse")
      expect(error.message).toContain("Docker-Content-Digest")
    })
  })

  it.effect("a redirect without Location, and a redirect loop, are InvalidResponse errors", () => {
    const missing = run(() => ({ status: 307 }), (api) => api.getManifest("some/app", "v1"))
    const loop = run(
      () => ({ status: 302, headers: { location: "/v2/some/app/manifests/v1" } }),
      (api) => api.getManifest("some/app", "v1")
    )
    return Effect.gen(function* () {
      const first = yield* Effect.flip(missing.effect)
      expect(first.message).toContain("without a Location header")
      const second = yield* Effect.flip(loop.effect)
      expect(second.message).toContain("more than 5 redirects")
      expect(loop.requests).toHaveLength(6)
    })
  })

  it.effect("a repository name that breaks the naming rules fails before any request", () => {
    const { effect, requests } = run(() => ({ status: 500 }), (api) => api.getManifest("Some/App", "v1"))
    return Effect.map(Effect.exit(effect), (exit) => {
      expect(failureTag(exit)).toBe("InvalidRepositoryName")
      expect(requests).toHaveLength(0)
    })
  })
})

describe("RegistryApi.getBlob", () => {
  const blob = Buffer.from("the quick brown fox jumps over the lazy dog")
  const digest = sha256(blob)
  const collect = (body: Uint8Array, size?: number, headers: Record<string, string> = {}) =>
    run(
      () => ({ status: 200, headers, body, chunkSize: 7 }),
      (api) => Stream.runCollect(api.getBlob("some/app", digest, { size })).pipe(Effect.map((c) => Buffer.concat(Chunk.toArray(c))))
    ).effect

  it.effect("streams a blob whose bytes hash to its digest", () =>
    Effect.map(collect(blob, blob.length), (bytes) => expect(bytes.equals(blob)).toBe(true)))

  it.effect("a blob one byte longer than its size fails", () =>
    Effect.map(Effect.flip(collect(Buffer.concat([blob, Buffer.from("!")]), blob.length)), (e) => {
      expect(e._tag).toBe("SizeMismatch")
    }))

  it.effect("a blob announced longer than its size fails before its body is read", () =>
    Effect.map(Effect.flip(collect(blob, blob.length, { "content-length": String(blob.length * 1000) })), (e) => {
      expect(e._tag).toBe("SizeMismatch")
    }))

  it.effect("a blob one byte shorter than its size fails", () =>
    Effect.map(Effect.flip(collect(blob.subarray(1), blob.length)), (e) => expect(e._tag).toBe("SizeMismatch")))

  it.effect("a blob with one flipped byte fails its digest check", () => {
    const corrupt = Buffer.from(blob)
    corrupt[10] = corrupt[10]! ^ 1
    return Effect.map(Effect.flip(collect(corrupt, blob.length)), (e) => expect(e._tag).toBe("DigestMismatch"))
  })

  it.effect("a blob redirected to other storage is followed and still verified", () => {
    const { effect, requests } = run(
      (r) =>
        r.url.host === "storage.test"
          ? { status: 200, body: blob }
          : { status: 307, headers: { location: "http://storage.test/blobs/x?sig=1" } },
      (api) => Stream.runCollect(api.getBlob("some/app", digest, { size: blob.length }))
    )
    return Effect.map(effect, (chunks) => {
      expect(Buffer.concat(Chunk.toArray(chunks)).equals(blob)).toBe(true)
      expect(requests.map((r) => r.url.host)).toEqual(["registry.test:5000", "storage.test"])
    })
  })
})

describe("RegistryApi tag listing", () => {
  const tags = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, "0")}`)

  /** A registry that pages correctly with Link headers, as the Distribution spec describes. */
  const paging = (r: HttpRequest): CannedResponse => {
    const n = Number(r.url.searchParams.get("n") ?? tags.length)
    const last = r.url.searchParams.get("last")
    const after = tags.filter((t) => last === null || t > last)
    const page = after.slice(0, n)
    const headers: Record<string, string> = page.length < after.length
      ? { link: `</v2/some/app/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"` }
      : {}
    return { status: 200, headers, body: json({ name: "some/app", tags: page }) }
  }

  it.effect("listAllTags follows Link headers across every page", () => {
    const { effect, requests } = run(paging, (api) => Stream.runCollect(api.listAllTags("some/app", { pageSize: 10 })))
    return Effect.map(effect, (all) => {
      expect(Chunk.toArray(all)).toEqual(tags)
      expect(requests).toHaveLength(3)
    })
  })

  it.effect("listTags returns one page and where the next one is", () => {
    const { effect } = run(paging, (api) => api.listTags("some/app", { n: 5, last: "t03" }))
    return Effect.map(effect, (page) => {
      expect(page.tags).toEqual(["t04", "t05", "t06", "t07", "t08"])
      expect(Option.map(page.next, (u) => u.searchParams.get("last"))).toEqual(Option.some("t08"))
    })
  })

  it.effect("a registry that ignores n and last gets the specified semantics applied by the client", () => {
    const shuffled = [...tags].reverse()
    const { effect } = run(() => ({ status: 200, body: json({ name: "some/app", tags: shuffled }) }), (api) =>
      api.listTags("some/app", { n: 5, last: "t03" }))
    return Effect.map(effect, (page) => expect(page.tags).toEqual(["t04", "t05", "t06", "t07", "t08"]))
  })

  it.effect("a Link header that points back to a page already read ends the listing", () => {
    const { effect, requests } = run(
      () => ({ status: 200, headers: { link: '</v2/some/app/tags/list?n=2>; rel="next"' }, body: json({ name: "some/app", tags: ["a", "b"] }) }),
      (api) => Stream.runCollect(api.listAllTags("some/app", { pageSize: 2 }))
    )
    return Effect.map(effect, (all) => {
      expect(Chunk.toArray(all)).toEqual(["a", "b"])
      expect(requests).toHaveLength(1)
    })
  })

  it.effect("a Link header to another origin is refused", () => {
    const { effect } = run(
      () => ({ status: 200, headers: { link: '<http://evil.test/v2/x/tags/list>; rel="next"' }, body: json({ name: "some/app", tags: ["a"] }) }),
      (api) => Stream.runCollect(api.listAllTags("some/app", { pageSize: 1 }))
    )
    return Effect.map(Effect.flip(effect), (e) => expect(e._tag).toBe("InvalidResponse"))
  })
})

describe("parseNextLink", () => {
  it("finds the next target among several links and parameters", () => {
    expect(RegistryApi.parseNextLink('</a>; rel="prev", </v2/x/tags/list?n=2&last=b>; rel="next"')).toBe("/v2/x/tags/list?n=2&last=b")
    expect(RegistryApi.parseNextLink("</b>; type=x; rel=next")).toBe("/b")
    expect(RegistryApi.parseNextLink('</c>; rel="prefetch next"')).toBe("/c")
    expect(RegistryApi.parseNextLink('</d>; rel="nextish"')).toBeUndefined()
    expect(RegistryApi.parseNextLink("")).toBeUndefined()
  })
})
