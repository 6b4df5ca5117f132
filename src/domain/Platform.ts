// The platform an image runs on (`linux/arm64/v8`), as found in index entries and chosen by the caller.
// Names follow the OCI image index (GOOS/GOARCH values), so Node's own architecture names are mapped
// before comparing; `matches` implements the selection rule used when a tag resolves to an index.
import { Data, Either, Schema } from "effect"
import { quote } from "./internal/Quote.js"

export const Platform = Schema.Struct({
  architecture: Schema.String,
  os: Schema.String,
  "os.version": Schema.optional(Schema.String),
  "os.features": Schema.optional(Schema.Array(Schema.String)),
  variant: Schema.optional(Schema.String),
  features: Schema.optional(Schema.Array(Schema.String))
}).annotations({ identifier: "Platform" })

export type Platform = typeof Platform.Type

export class InvalidPlatform extends Data.TaggedError("InvalidPlatform")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid platform ${quote(this.input)}: ${this.reason}`
  }
}

const nodeArchitectures: Readonly<Record<string, { readonly architecture: string; readonly variant?: string }>> = {
  x64: { architecture: "amd64" },
  arm64: { architecture: "arm64", variant: "v8" },
  ia32: { architecture: "386" },
  arm: { architecture: "arm" },
  ppc64: { architecture: "ppc64le" },
  s390x: { architecture: "s390x" }
}

/** The platform for a Node `process.arch` value on Linux; unknown architectures keep Node's name. */
export const forNodeArch = (arch: string): Platform => {
  const known = Object.hasOwn(nodeArchitectures, arch) ? nodeArchitectures[arch] : undefined
  return known === undefined
    ? { os: "linux", architecture: arch }
    : known.variant === undefined
    ? { os: "linux", architecture: known.architecture }
    : { os: "linux", architecture: known.architecture, variant: known.variant }
}

/** The platform this process runs on, the default choice when a tag resolves to an index. */
export const current = (): Platform => forNodeArch(process.arch)

// Spellings people type that the OCI names differ from (uname output, Debian names).
const architectureAliases: Readonly<Record<string, string>> = {
  x86_64: "amd64",
  "x86-64": "amd64",
  aarch64: "arm64",
  i386: "386"
}

const canonicalArchitecture = (arch: string): string =>
  Object.hasOwn(architectureAliases, arch) ? architectureAliases[arch]! : arch

const part = /^[a-z0-9_.-]+$/

export const parse = (input: string): Either.Either<Platform, InvalidPlatform> => {
  const fail = (reason: string) => Either.left(new InvalidPlatform({ input, reason }))
  const parts = input.toLowerCase().split("/")
  if (parts.length < 2 || parts.length > 3) {
    return fail(`expected "os/architecture" or "os/architecture/variant", got ${parts.length} part(s)`)
  }
  const names = ["os", "architecture", "variant"]
  for (let i = 0; i < parts.length; i++) {
    const value = parts[i]!
    if (value === "") {
      return fail(`the ${names[i]} is empty`)
    }
    if (!part.test(value)) {
      return fail(`the ${names[i]} ${quote(value)} may only contain letters, digits, "_", "." and "-"`)
    }
  }
  const [os, arch, variant] = parts as [string, string, string | undefined]
  const architecture = canonicalArchitecture(arch)
  return Either.right(variant === undefined ? { os, architecture } : { os, architecture, variant })
}

export const format = (p: Platform): string =>
  p.variant === undefined ? `${p.os}/${p.architecture}` : `${p.os}/${p.architecture}/${p.variant}`

// arm64 images rarely state their variant; the only one in use is v8.
const effectiveVariant = (p: Platform): string | undefined =>
  p.variant === undefined && canonicalArchitecture(p.architecture) === "arm64" ? "v8" : p.variant

/**
 * Whether an index entry's platform satisfies the wanted one: same os and architecture, and the same
 * variant when the wanted platform names one. Some image builders write uname names into indexes
 * (`aarch64`, `x86_64`), so architectures are compared after mapping those to the OCI names.
 */
export const matches = (candidate: Platform, wanted: Platform): boolean =>
  candidate.os === wanted.os &&
  canonicalArchitecture(candidate.architecture) === canonicalArchitecture(wanted.architecture) &&
  (wanted.variant === undefined || effectiveVariant(candidate) === effectiveVariant(wanted))
