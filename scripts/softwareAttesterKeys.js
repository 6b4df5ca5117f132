// The demo software attester's keys, read from res/attester (shared by scripts/make-res.ts,
// scripts/software-attester.mjs and the demo, so that they all speak for the same fake platform and realm).
import { createPrivateKey } from "node:crypto"
import { readFileSync } from "node:fs"
import * as path from "node:path"

export const attesterKeys = (res) => ({
  platformKey: createPrivateKey(readFileSync(path.join(res, "attester", "platform.key"))),
  realmKey: createPrivateKey(readFileSync(path.join(res, "attester", "realm.key")))
})
