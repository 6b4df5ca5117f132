// Renders untrusted input inside one-line error messages.
// Input comes from the network or the command line, so it is escaped (no raw newlines or control
// characters reach a log line or a terminal) and shortened (a megabyte of garbage should not become the
// message).

const limit = 100

// C0 controls, DEL and C1 controls (U+009B alone is a CSI to some terminals).
const controls = /[\u0000-\u001f\u007f-\u009f]/g

const escapeControl = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`

/** `input` as a quoted, escaped string of at most 100 characters. */
export const quote = (input: string): string => {
  const shortened = input.length > limit ? `${input.slice(0, limit)}…` : input
  return JSON.stringify(shortened).replace(controls, escapeControl)
}

/**
 * Free text (a parser's complaint, a server's message) made safe for one line: runs of white space,
 * line breaks included, become one space, and other control characters are escaped as `\uXXXX`.
 */
export const oneLine = (text: string): string => text.replace(/\s+/g, " ").replace(controls, escapeControl)

/** Like `oneLine`, but line breaks stay (for multi-line reports such as a defect's stack trace). */
export const withoutControls = (text: string): string =>
  text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, escapeControl)
