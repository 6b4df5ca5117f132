// Runs one exchange over a Tls13Socket and reports what happened: the bytes received, or the error.
import { connectTls13, type Tls13ConnectOptions, type Tls13Socket } from "../../../src/services/Tls13/Tls13Socket.js"

export type Outcome = { readonly _tag: "Received"; readonly data: Buffer } | { readonly _tag: "Failed"; readonly error: Error }

/** Connects, writes `payload` once the handshake is done, half-closes, and collects everything until the end. */
export const exchange = (options: Tls13ConnectOptions, payload: Buffer | string = "ping"): Promise<Outcome> =>
  new Promise((resolve) => {
    const socket: Tls13Socket = connectTls13(options)
    const chunks: Array<Buffer> = []
    socket.on("error", (error) => resolve({ _tag: "Failed", error }))
    socket.on("secureConnect", () => socket.end(payload))
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.on("end", () => resolve({ _tag: "Received", data: Buffer.concat(chunks) }))
  })

/** The `_tag` of the error an exchange failed with, or "Received" when it succeeded. */
export const outcomeTag = (outcome: Outcome): string =>
  outcome._tag === "Received" ? "Received" : ((outcome.error as { _tag?: string })._tag ?? outcome.error.name)
