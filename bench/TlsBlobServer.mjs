// A TLS 1.3 server on Node's own stack (OpenSSL), in its own process so that it does not share a core's
// event loop with the client being measured. Serves one blob of BLOB_MIB MiB at any path; prints its port.
import * as https from "node:https"
import { createHash, randomBytes } from "node:crypto"

const mib = Number(process.env.BLOB_MIB ?? "256")
const block = randomBytes(1024 * 1024)
const hash = createHash("sha256")
for (let i = 0; i < mib; i++) hash.update(block)
const digest = `sha256:${hash.digest("hex")}`

const server = https.createServer(
  { cert: process.env.CERT_PEM, key: process.env.KEY_PEM, minVersion: "TLSv1.3" },
  (req, res) => {
    res.writeHead(200, { "content-length": String(mib * block.length), "content-type": "application/octet-stream" })
    let sent = 0
    const pump = () => {
      while (sent < mib) {
        sent += 1
        if (!res.write(block)) return void res.once("drain", pump)
      }
      res.end()
    }
    if (req.method === "HEAD") res.end()
    else pump()
  }
)
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port, digest, size: mib * block.length })}\n`))
