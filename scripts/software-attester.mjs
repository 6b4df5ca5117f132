#!/usr/bin/env node
// A `--token-command` for development: prints a CCA token for the realm challenge given as 128 hex digits
// in the last argument, made by the library's SOFTWARE attester with the keys in res/attester. It is NOT
// hardware-backed and proves nothing about the machine; it exists so RA-TLS can be tried without a realm.
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { make } from "../dist/domain/cca/SoftwareAttester.js"
import { attesterKeys } from "./softwareAttesterKeys.js"

const res = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "res")
const hex = process.argv.at(-1) ?? ""
if (!/^[0-9a-f]{128}$/.test(hex)) {
  process.stderr.write("usage: software-attester.mjs <realm challenge as 128 lowercase hex digits>\n")
  process.exit(2)
}
const token = make(attesterKeys(res)).attest(Buffer.from(hex, "hex"))
if (token._tag === "Left") {
  process.stderr.write(`${token.left.message}\n`)
  process.exit(2)
}
process.stdout.write(token.right)
