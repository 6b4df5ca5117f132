// Builds and runs go-ratls-server/main.go, an RA-TLS server on Go's crypto/tls (a TLS stack that shares
// nothing with the client under test), and collects the JSON events it prints. Without a Go toolchain on
// PATH the suites that need it are skipped.
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { issueServer, makeRootCa } from "../../unit/tls13/TestPki.js"

const sourceDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), "go-ratls-server")

export const goAvailable = spawnSync("go", ["version"], { stdio: "ignore" }).status === 0

export const goRequirement = "(needs Go on PATH; skipped otherwise)"

/** One line the server printed: `listening` first, then handshake and request events. */
export interface GoEvent {
  readonly listening?: string
  readonly event?: "client-certificate" | "rejected" | "request"
  readonly challenge?: string
  readonly spki?: string
  readonly realmChallenge?: string
  readonly token?: string
  readonly bound?: boolean
  readonly error?: string
  readonly path?: string
}

export interface GoServer {
  readonly host: string
  readonly rootPem: string
  readonly rootPath: string
  readonly events: Array<GoEvent>
}

export interface GoServerOptions {
  readonly authorities?: number
  readonly checkBinding?: boolean
}

const scratch = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(tmpdir(), "go-ratls-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** `go build`s the server once into a directory that lives as long as the Scope; returns the binary. */
export const buildGoServer = Effect.gen(function* () {
  const binary = path.join(yield* scratch, "go-ratls-server")
  const result = spawnSync("go", ["build", "-o", binary, "main.go"], { cwd: sourceDirectory, encoding: "utf8" })
  if (result.status !== 0) return yield* Effect.dieMessage(`go build failed: ${result.stderr}`)
  return binary
})

/** Starts the server with a fresh PKI on a free loopback port; it is killed when the Scope closes. */
export const goRaTlsServer = (binary: string, options: GoServerOptions = {}) =>
  Effect.gen(function* () {
    const dir = yield* scratch
    const root = yield* Effect.promise(() => makeRootCa("Go RA-TLS Root"))
    const leaf = yield* Effect.promise(() => issueServer(root))
    const files = { root: path.join(dir, "root-ca.crt"), cert: path.join(dir, "server.crt"), key: path.join(dir, "server.key") }
    writeFileSync(files.root, root.certificatePem)
    writeFileSync(files.cert, leaf.certificatePem)
    writeFileSync(files.key, leaf.privateKeyPem)
    const args = [
      "-cert", files.cert,
      "-key", files.key,
      "-authorities", String(options.authorities ?? 1),
      `-check-binding=${options.checkBinding ?? true}`
    ]
    const events: Array<GoEvent> = []
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] })),
      (process) =>
        Effect.async<void>((resume) => {
          if (process.exitCode !== null || process.signalCode !== null) return resume(Effect.void)
          process.once("exit", () => resume(Effect.void))
          process.kill("SIGTERM")
        })
    )
    const listening = yield* Effect.async<string, Error>((resume) => {
      let stderr = ""
      let started = false
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      child.once("exit", (code) => {
        if (!started) resume(Effect.fail(new Error(`go-ratls-server exited with ${code}: ${stderr}`)))
      })
      createInterface({ input: child.stdout }).on("line", (line) => {
        const event = JSON.parse(line) as GoEvent
        if (event.listening === undefined) return void events.push(event)
        started = true
        resume(Effect.succeed(event.listening))
      })
    }).pipe(Effect.orDie)
    return { host: listening, rootPem: root.certificatePem, rootPath: files.root, events } satisfies GoServer
  })
