/**
 * Registry bytes checked as they pass (ContentCheck), failing with the registry client's errors. Nothing
 * downstream may treat the bytes as trusted before the stream has ended cleanly.
 */
import * as ContentCheck from "../../domain/ContentCheck.js"
import type * as Digest from "../../domain/Digest.js"
import { DigestMismatch, SizeMismatch } from "./RegistryErrors.js"

export interface Expected {
  /** Names the content in error messages, e.g. `blob sha256:… of some/app`. */
  readonly subject: string
  readonly digest: Digest.Digest
  readonly size?: number | undefined
}

export const verifyContent = (expected: Expected) =>
  ContentCheck.check(expected, {
    size: (size, actual) => new SizeMismatch({ subject: expected.subject, expected: size, actual }),
    digest: (digest, actual) => new DigestMismatch({ subject: expected.subject, expected: digest, actual })
  })
