// A `--token-command` program for the RA-TLS registry tests: the realm challenge as hex in the last argument,
// the token on stdout. Its tokens come from the software attester of the built library (dist): NOT
// hardware-backed. Plain JavaScript so that each handshake starts it without a TypeScript loader.
import { make } from "../../../dist/domain/cca/SoftwareAttester.js"

const challenge = Buffer.from(process.argv.at(-1) ?? "", "hex")
const token = make().attest(challenge)
if (token._tag === "Left") {
  process.stderr.write(`${token.left.message}\n`)
  process.exitCode = 2
} else {
  process.stdout.write(token.right)
}
