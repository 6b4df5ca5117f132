/**
 * Writes the default files the CLI and the demo read from res/: a root CA (`root-ca.crt`), a registry
 * certificate for localhost / 127.0.0.1 / ::1 signed by it (`registry.crt`, `registry.key`), the keys of
 * the demo's software attester (`attester/platform.key`, `attester/realm.key`), and `token.bin`, a token
 * from that attester for an all-zero challenge. All of it is for development and tests only: the keys are
 * public. Run `npx tsx scripts/make-res.ts` to regenerate (the sample image has its own script).
 */
import "reflect-metadata"
import { Effect, Either } from "effect"
import { generateKeyPairSync } from "node:crypto"
import { mkdir, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as SoftwareAttester from "../src/domain/cca/SoftwareAttester.js"
import { issueCertificate, makeCa } from "../test/registry-fixture/Certificates.js"

const res = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "res")

const program = Effect.gen(function* () {
  const notBefore = new Date("2026-01-01T00:00:00Z")
  const notAfter = new Date("2046-01-01T00:00:00Z")
  const ca = yield* makeCa({ commonName: "oci-ratls-client development root CA", keyType: "ec-p256", notBefore, notAfter })
  const registry = yield* issueCertificate(ca, { commonName: "localhost", keyType: "ec-p256", notBefore, notAfter })
  yield* Effect.promise(async () => {
    await mkdir(path.join(res, "attester"), { recursive: true })
    await writeFile(path.join(res, "root-ca.crt"), ca.certPem)
    await writeFile(path.join(res, "registry.crt"), registry.chainPem)
    await writeFile(path.join(res, "registry.key"), registry.keyPem, { mode: 0o600 })
    const keys = ["platform", "realm"].map((name) => {
      const key = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey
      return [name, key.export({ format: "pem", type: "pkcs8" }).toString()] as const
    })
    for (const [name, pem] of keys) await writeFile(path.join(res, "attester", `${name}.key`), pem, { mode: 0o600 })
  })
  const attester = SoftwareAttester.make(yield* Effect.promise(() => import("./softwareAttesterKeys.js").then((m) => m.attesterKeys(res))))
  const token = Either.getOrThrow(attester.attest(new Uint8Array(64)))
  yield* Effect.promise(() => writeFile(path.join(res, "token.bin"), token))
  yield* Effect.log(`wrote ${res}: root-ca.crt, registry.crt, registry.key, attester/*.key, token.bin`)
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
