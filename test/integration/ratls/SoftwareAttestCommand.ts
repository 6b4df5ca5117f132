// A `--token-command` program for tests, following TokenCommand.ts's convention: the realm challenge as hex
// in the last argument, the token on stdout. Its tokens come from the software attester: NOT hardware-backed.
import { Either } from "effect"
import * as SoftwareAttester from "../../../src/domain/cca/SoftwareAttester.js"

const challenge = Buffer.from(process.argv.at(-1) ?? "", "hex")
Either.match(SoftwareAttester.make().attest(challenge), {
  onLeft: (error) => {
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 2
  },
  onRight: (token) => {
    process.stdout.write(token)
  }
})
