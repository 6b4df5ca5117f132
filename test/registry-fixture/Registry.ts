// The real CNCF Distribution registry on a free loopback port, for the duration of a Scope.
// Runs the `registry:2` container when a Docker engine answers, else the Debian `docker-registry`
// binary with a generated config in a temp dir; either way it is only handed out once `GET /v2/` says 200.
import { Clock, Context, Data, Deferred, Effect, ExecutionStrategy, Exit, Layer, Schedule, Scope } from "effect"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as RawHttp from "./RawHttp.js"

export interface RunningRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string
  /** `http://127.0.0.1:PORT` or `https://…` when started with TLS */
  readonly url: string
  /** The CA a client must trust, when TLS is on. */
  readonly caPem?: string
  /** The registry's storage root on this machine (blobs under `docker/registry/v2/blobs`). */
  readonly dataDir: string
}

export interface RegistryTls {
  /** The server certificate, followed by any intermediates. */
  readonly certPem: string
  readonly keyPem: string
  readonly caPem: string
}

export type RegistryBackend = "auto" | "docker" | "binary"

export interface RegistryOptions {
  readonly tls?: RegistryTls
  /** Default: the `REGISTRY_FIXTURE_BACKEND` environment variable, else "auto". */
  readonly backend?: RegistryBackend
  /** How long the registry may take to answer `GET /v2/` with 200. Default 20 s. */
  readonly readyTimeoutMs?: number
  /** The Distribution binary for the "binary" back end. Default `/usr/bin/docker-registry`. */
  readonly binary?: string
}

export const registryBinary = "/usr/bin/docker-registry"

export class RegistryBinaryMissing extends Data.TaggedError("RegistryBinaryMissing")<{ readonly path: string }> {
  override get message(): string {
    return `the Distribution registry binary ${this.path} is missing: apt-get install docker-registry`
  }
}

export class RegistryStartFailed extends Data.TaggedError("RegistryStartFailed")<{
  readonly backend: "docker" | "binary"
  readonly reason: string
  /** The last lines the registry wrote to stdout/stderr. */
  readonly stderrTail: string
}> {
  override get message(): string {
    const tail = this.stderrTail.trim()
    return `registry (${this.backend}) did not start: ${this.reason}${tail === "" ? "" : `\n--- registry output ---\n${tail}`}`
  }
}

export type RegistryFixtureError = RegistryBinaryMissing | RegistryStartFailed

// The fixture may run inside a TestClock (an @effect/vitest layer); its waits are real time.
const liveClock = Clock.make()

const tailLimit = 8192

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "oci-registry-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

/** A port nobody listened on a moment ago. The registry may still lose it to a race: callers retry. */
const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.once("error", (e) => resume(Effect.die(e)))
  server.listen({ host: "127.0.0.1", port: 0 }, () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

const configYaml = (dir: string, port: number, tls: boolean): string =>
  [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(path.join(dir, "data"))}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString("hex")}`,
    ...(tls
      ? [
        "  tls:",
        `    certificate: ${JSON.stringify(path.join(dir, "server.crt"))}`,
        `    key: ${JSON.stringify(path.join(dir, "server.key"))}`
      ]
      : []),
    "health:",
    "  storagedriver:",
    "    enabled: false",
    ""
  ].join("\n")

/** Polls `GET /v2/` until it answers 200; never fails, the caller bounds it with a deadline. */
const untilReady = (url: string, caPem: string | undefined) =>
  RawHttp.request(`${url}/v2/`, { timeoutMs: 1000, ...(caPem === undefined ? {} : { caPem }) }).pipe(
    Effect.filterOrFail((r) => r.status === 200, (r) => `GET /v2/ answered ${r.status}`),
    Effect.retry(Schedule.spaced("25 millis")),
    Effect.orDie,
    Effect.asVoid
  )

// Without a watchdog a killed test worker would orphan the registry; setpriv makes the kernel kill it too.
const parentDeathWrapper = existsSync("/usr/bin/setpriv") ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] : []

// Inherited REGISTRY_* variables would override the generated config.
const registryEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("REGISTRY_")))

interface FailedAttempt {
  readonly port: number
  readonly reason: string
  readonly output: string
}

/** One start of the binary on one port, its process bound to the current scope. */
const startBinaryOnce = (binary: string, dir: string, tls: RegistryTls | undefined, readyTimeoutMs: number) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const configPath = path.join(dir, "config.yml")
    yield* Effect.promise(() => fs.writeFile(configPath, configYaml(dir, port, tls !== undefined)))
    const url = `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`
    let output = ""
    const exited = yield* Deferred.make<string>()
    const [command, ...args] = [...parentDeathWrapper, binary, "serve", configPath]
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(command!, args, { cwd: dir, env: registryEnv(), stdio: ["ignore", "pipe", "pipe"] })
        const collect = (chunk: Buffer) => {
          output = (output + chunk.toString("utf8")).slice(-tailLimit)
        }
        child.stdout.on("data", collect)
        child.stderr.on("data", collect)
        child.on("error", (e) => Deferred.unsafeDone(exited, Effect.succeed(`could not spawn: ${e.message}`)))
        // "close" rather than "exit": by then the output pipes are drained, so the tail is complete.
        child.on("close", (code, signal) =>
          Deferred.unsafeDone(exited, Effect.succeed(`exited early (code ${code}, signal ${signal})`)))
        return child
      }),
      (child) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
            return resume(Effect.void)
          }
          child.once("close", () => resume(Effect.void))
          child.kill("SIGKILL")
        })
    )
    const outcome = yield* Effect.raceFirst(
      untilReady(url, tls?.caPem).pipe(Effect.as(undefined)),
      Deferred.await(exited)
    ).pipe(
      Effect.timeoutTo({
        duration: readyTimeoutMs,
        onTimeout: () => `GET /v2/ did not answer 200 within ${readyTimeoutMs} ms`,
        onSuccess: (reason) => reason
      })
    )
    if (outcome !== undefined) {
      return yield* Effect.fail<FailedAttempt>({ port, reason: outcome, output })
    }
    return port
  })

const startBinary = (binary: string, tls: RegistryTls | undefined, readyTimeoutMs: number) =>
  Effect.gen(function*() {
    if (!existsSync(binary)) return yield* new RegistryBinaryMissing({ path: binary })
    const dir = yield* tempDir
    if (tls !== undefined) {
      yield* Effect.promise(() =>
        Promise.all([
          fs.writeFile(path.join(dir, "server.crt"), tls.certPem),
          fs.writeFile(path.join(dir, "server.key"), tls.keyPem, { mode: 0o600 })
        ])
      )
    }
    const outer = yield* Effect.scope
    // Each attempt owns a child scope so a failed attempt's process is reaped before the next one.
    const attempt = Effect.gen(function*() {
      const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      return yield* startBinaryOnce(binary, dir, tls, readyTimeoutMs).pipe(
        Scope.extend(scope),
        Effect.tapError(() => Scope.close(scope, Exit.void))
      )
    })
    const port = yield* attempt.pipe(
      Effect.retry({
        times: 4,
        while: (e) => /address already in use/i.test(e.output)
      }),
      Effect.mapError((e) =>
        new RegistryStartFailed({ backend: "binary", reason: `on port ${e.port}: ${e.reason}`, stderrTail: e.output })
      )
    )
    const registry: RunningRegistry = {
      host: `127.0.0.1:${port}`,
      url: `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
      dataDir: path.join(dir, "data"),
      ...(tls === undefined ? {} : { caPem: tls.caPem })
    }
    return registry
  })

/** Where the Docker engine listens, from DOCKER_HOST or the default socket. */
const dockerEndpoint = (): { socketPath: string } | { host: string; port: number } => {
  const configured = process.env["DOCKER_HOST"]
  if (configured === undefined || configured === "") return { socketPath: "/var/run/docker.sock" }
  if (configured.startsWith("unix://")) return { socketPath: configured.slice("unix://".length) }
  const url = new URL(configured.replace(/^tcp:/, "http:"))
  return { host: url.hostname, port: Number(url.port || 2375) }
}

/** True when a Docker engine answers `GET /_ping` within a second. */
export const dockerAvailable: Effect.Effect<boolean> = Effect.async<boolean>((resume) => {
  const endpoint = dockerEndpoint()
  if ("socketPath" in endpoint && !existsSync(endpoint.socketPath)) return resume(Effect.succeed(false))
  const req = http.request({ ...endpoint, path: "/_ping", timeout: 1000 }, (res) => {
    res.resume()
    resume(Effect.succeed(res.statusCode === 200))
  })
  req.on("timeout", () => req.destroy())
  req.on("error", () => resume(Effect.succeed(false)))
  req.end()
  return Effect.sync(() => req.destroy())
})

const startContainer = (tls: RegistryTls | undefined, readyTimeoutMs: number) =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const dataDir = path.join(dir, "data")
    yield* Effect.promise(() => fs.mkdir(dataDir))
    const startFailed = (reason: string) => new RegistryStartFailed({ backend: "docker", reason, stderrTail: "" })
    const { GenericContainer } = yield* Effect.tryPromise({
      try: () => import("testcontainers"),
      catch: (e) => startFailed(`cannot load testcontainers: ${String(e)}`)
    })
    const tlsFiles = tls === undefined ? [] : [
      { content: tls.certPem, target: "/certs/server.crt" },
      { content: tls.keyPem, target: "/certs/server.key" }
    ]
    const container = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          new GenericContainer("registry:2")
            .withExposedPorts(5000)
            .withBindMounts([{ source: dataDir, target: "/var/lib/registry" }])
            .withCopyContentToContainer(tlsFiles)
            .withEnvironment({
              REGISTRY_LOG_LEVEL: "warn",
              REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
              REGISTRY_STORAGE_DELETE_ENABLED: "true",
              REGISTRY_HTTP_SECRET: randomBytes(16).toString("hex"),
              ...(tls === undefined ? {} : {
                REGISTRY_HTTP_TLS_CERTIFICATE: "/certs/server.crt",
                REGISTRY_HTTP_TLS_KEY: "/certs/server.key"
              })
            })
            .start(),
        catch: (e) => startFailed(String(e))
      }),
      (c) => Effect.promise(() => c.stop()).pipe(Effect.ignore)
    )
    const hostName = container.getHost() === "localhost" ? "127.0.0.1" : container.getHost()
    const host = `${hostName}:${container.getMappedPort(5000)}`
    const url = `${tls === undefined ? "http" : "https"}://${host}`
    yield* untilReady(url, tls?.caPem).pipe(
      Effect.timeoutFail({
        duration: readyTimeoutMs,
        onTimeout: () => startFailed(`GET /v2/ did not answer 200 within ${readyTimeoutMs} ms`)
      })
    )
    const registry: RunningRegistry = { host, url, dataDir, ...(tls === undefined ? {} : { caPem: tls.caPem }) }
    return registry
  })

const chosenBackend = (wanted: RegistryBackend | undefined): Effect.Effect<"docker" | "binary"> => {
  const backend = wanted ?? (process.env["REGISTRY_FIXTURE_BACKEND"] as RegistryBackend | undefined) ?? "auto"
  return backend === "auto" ? Effect.map(dockerAvailable, (up) => (up ? "docker" : "binary")) : Effect.succeed(backend)
}

/** Starts a registry that lives until the enclosing Scope closes (process killed, storage removed). */
export const startRegistry = (
  options: RegistryOptions = {}
): Effect.Effect<RunningRegistry, RegistryFixtureError, Scope.Scope> =>
  Effect.gen(function*() {
    const readyTimeoutMs = options.readyTimeoutMs ?? 20_000
    const backend = yield* chosenBackend(options.backend)
    return yield* backend === "docker"
      ? startContainer(options.tls, readyTimeoutMs)
      : startBinary(options.binary ?? registryBinary, options.tls, readyTimeoutMs)
  }).pipe(
    Effect.withClock(liveClock),
    Effect.withSpan("RegistryFixture.startRegistry")
  )

/** The registry as a service: `RegistryFixture.layer()` starts one for everything the layer serves. */
export class RegistryFixture extends Context.Tag("test/RegistryFixture")<RegistryFixture, RunningRegistry>() {
  static readonly layer = (options: RegistryOptions = {}): Layer.Layer<RegistryFixture, RegistryFixtureError> =>
    Layer.scoped(RegistryFixture, startRegistry(options))
}
