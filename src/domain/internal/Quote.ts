// Renders untrusted input inside one-line error messages.
// Input comes from the network or the command line, so it is escaped (no raw newlines or control
// characters reach a log line) and shortened (a megabyte of garbage should not become the message).

const limit = 100

export const quote = (input: string): string => {
  const shortened = input.length > limit ? `${input.slice(0, limit)}…` : input
  return JSON.stringify(shortened)
}
