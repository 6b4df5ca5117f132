/**
 * How the client reaches its registry: host, connection mode (plain HTTP, TLS, custom TLS, RA-TLS) and
 * timeouts. Built with the seed's builder, `Config.builder().host(h).noTls()`; checked once by `validate`,
 * which turns the host text into an origin and refuses a scheme that contradicts the mode.
 */
import { Data, Duration, Either } from "effect"
import * as crypto from "node:crypto"
import type * as tls from "node:tls"
import type { RaTlsCertResolver } from "../services/RaTlsCredentials/RaTlsCertResolver.js"

/** PEM text (one or more certificates) or its bytes. */
export type Pem = string | Uint8Array

export type Mode =
  | { readonly _tag: "NoTls" }
  | { readonly _tag: "Tls"; readonly rootCertificates: ReadonlyArray<Pem> }
  | { readonly _tag: "CustomTls"; readonly options: tls.ConnectionOptions }
  | RaTlsMode

/** RA-TLS on the project's own TLS 1.3 engine: the server is checked against the roots, the client attests. */
export interface RaTlsMode {
  readonly _tag: "RaTls"
  readonly rootCertificates: ReadonlyArray<Pem>
  readonly certResolver: RaTlsCertResolver
}

export interface Timeouts {
  /** Time allowed for TCP connect plus TLS handshake. */
  readonly connect: Duration.Duration
  /** Longest silence on an open connection while a response is awaited or read. */
  readonly idle: Duration.Duration
}

export interface Config {
  readonly host: string
  readonly mode: Mode
  readonly timeouts: Timeouts
  /** Upper bound of concurrent connections to the registry. */
  readonly maxSockets: number
}

export const defaultTimeouts: Timeouts = {
  connect: Duration.seconds(10),
  idle: Duration.seconds(30)
}

export const defaultHost = "localhost:1337"

class HostStep {
  constructor(
    private readonly hostText: string,
    private readonly timeouts: Timeouts = defaultTimeouts,
    private readonly sockets = 8
  ) {}

  connectTimeout(duration: Duration.DurationInput): HostStep {
    return new HostStep(this.hostText, { ...this.timeouts, connect: Duration.decode(duration) }, this.sockets)
  }

  idleTimeout(duration: Duration.DurationInput): HostStep {
    return new HostStep(this.hostText, { ...this.timeouts, idle: Duration.decode(duration) }, this.sockets)
  }

  maxSockets(count: number): HostStep {
    return new HostStep(this.hostText, this.timeouts, count)
  }

  /** Plain HTTP. */
  noTls(): Config {
    return this.finish({ _tag: "NoTls" })
  }

  /** TLS on Node's own stack, trusting only the given root certificates (PEM). */
  tls(rootCertificates: Pem | ReadonlyArray<Pem>): Config {
    const roots = Array.isArray(rootCertificates) ? rootCertificates : [rootCertificates as Pem]
    return this.finish({ _tag: "Tls", rootCertificates: roots })
  }

  /** TLS with caller-chosen Node `tls.connect` options (client certificates, ciphers, …). */
  customTls(options: tls.ConnectionOptions): Config {
    return this.finish({ _tag: "CustomTls", options })
  }

  /**
   * RA-TLS (the seed's `.ratls(root_cert_store, cert_resolver)`): the server certificate must lead to one of
   * the roots (PEM, bundles allowed), and the client answers the server's challenge with `certResolver`.
   */
  raTls(rootCertificates: Pem | ReadonlyArray<Pem>, certResolver: RaTlsCertResolver): Config {
    const roots = Array.isArray(rootCertificates) ? rootCertificates : [rootCertificates as Pem]
    return this.finish({ _tag: "RaTls", rootCertificates: roots, certResolver })
  }

  private finish(mode: Mode): Config {
    return { host: this.hostText, mode, timeouts: this.timeouts, maxSockets: this.sockets }
  }
}

class Builder {
  host(host: string): HostStep {
    return new HostStep(host)
  }
}

export const builder = (): Builder => new Builder()

export class InvalidConfig extends Data.TaggedError("InvalidConfig")<{
  readonly host: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid registry host "${this.host}": ${this.reason}`
  }
}

/** A validated config: the origin every request goes to. */
export interface ResolvedConfig extends Config {
  readonly origin: URL
}

const schemeOf = (mode: Mode): "http:" | "https:" => (mode._tag === "NoTls" ? "http:" : "https:")

export const validate = (config: Config): Either.Either<ResolvedConfig, InvalidConfig> => {
  const fail = (reason: string) => Either.left(new InvalidConfig({ host: config.host, reason }))
  const text = config.host.trim()
  if (text.length === 0) return fail("the host is empty")
  const expected = schemeOf(config.mode)
  const explicit = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text)
  if (explicit !== null) {
    const given = `${explicit[1]!.toLowerCase()}:`
    if (given !== "http:" && given !== "https:") return fail(`scheme "${explicit[1]}" is neither http nor https`)
    if (given !== expected) {
      return fail(`scheme ${given.slice(0, -1)} contradicts the ${modeName(config.mode)} mode, which needs ${expected.slice(0, -1)}`)
    }
  }
  let url: URL
  try {
    url = new URL(explicit === null ? `${expected}//${text}` : text)
  } catch {
    return fail("not a host[:port] or URL")
  }
  if (url.username !== "" || url.password !== "") return fail("credentials in the host are not supported")
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    return fail("the host must not carry a path, query or fragment")
  }
  if (!Number.isInteger(config.maxSockets) || config.maxSockets < 1) {
    return Either.left(new InvalidConfig({ host: config.host, reason: "maxSockets must be a positive integer" }))
  }
  if (config.mode._tag === "RaTls") {
    const roots = Either.mapLeft(rootCertificateList(config.mode.rootCertificates), (reason) => new InvalidConfig({ host: config.host, reason }))
    if (Either.isLeft(roots)) return Either.left(roots.left)
  }
  return Either.right({ ...config, origin: new URL(url.origin) })
}

export const modeName = (mode: Mode): string => {
  switch (mode._tag) {
    case "NoTls":
      return "no-tls"
    case "Tls":
      return "tls"
    case "CustomTls":
      return "custom tls"
    case "RaTls":
      return "ra-tls"
  }
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g

/**
 * The roots as one PEM certificate each (PEM texts are split into their certificates, bytes that are not
 * PEM are taken as one DER certificate), or why one of them is not a certificate.
 */
export const rootCertificateList = (roots: ReadonlyArray<Pem>): Either.Either<ReadonlyArray<string>, string> => {
  const certificates: Array<string> = []
  for (const root of roots) {
    const text = typeof root === "string" ? root : Buffer.from(root).toString("latin1")
    const pems = text.match(pemCertificate) ?? [typeof root === "string" ? root : Buffer.from(root)]
    for (const pem of pems) {
      try {
        certificates.push(new crypto.X509Certificate(pem).toString())
      } catch {
        return Either.left(`root certificate ${certificates.length} is not a valid X.509 certificate`)
      }
    }
  }
  return certificates.length === 0 ? Either.left("no root certificate given") : Either.right(certificates)
}
