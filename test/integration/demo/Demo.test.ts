// `npm run demo`, the README's first command, end to end: RA-TLS registry, get-image, software attester.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot } from "../cli/RunCli.js"

describe("the demo", () => {
  it("pulls and unpacks the sample image over RA-TLS and shows the verified claims", () => {
    expect(existsSync(path.join(repoRoot, "dist", "cli", "get-image.js")), "run npm run build first").toBe(true)
    const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/demo.ts"], { cwd: repoRoot, encoding: "utf8", timeout: 90_000 })
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout).toContain("0755  app/hello.sh (45 bytes)")
    expect(result.stdout).toContain("0777  app/run -> hello.sh")
    expect(result.stdout).not.toContain("debug.log")
    expect(result.stdout).toMatch(/checks passed: .*realm-challenge.*reference-values/)
    expect(result.stdout).toContain('"profile": "http://arm.com/CCA-SSD/1.0.0"')
  })
})
