// The certificate an RA-TLS client presents (RA-TLS.md section 1.4): X.509 v3, self-signed with
// sha256WithRSAEncryption, empty subject and issuer, a fixed validity window, and one non-critical
// extension 1.3.3.3.7 whose value is the raw attestation token. Nothing else, so verifiers see what they expect.
import * as crypto from "node:crypto"
import * as Der from "./Der.js"

/** The extension that carries the CCA token. */
export const TokenExtensionOid = "1.3.3.3.7"

export const Sha256WithRsaEncryptionOid = "1.2.840.113549.1.1.11"

/** The validity every RA-TLS client certificate carries: the verifier relies on the token, not on dates. */
export const notBefore = new Date(Date.UTC(2021, 4, 19))
export const notAfter = new Date(Date.UTC(4096, 0, 1))

export interface CertificateInput {
  /** The RSA key pair: the certificate carries its public half and is signed by its private half. */
  readonly privateKey: crypto.KeyObject
  readonly publicKeySpkiDer: Uint8Array
  readonly token: Uint8Array
  /** Serial number magnitude; by default 16 random octets (see `randomSerial`). */
  readonly serial?: Uint8Array
}

/**
 * 16 random octets, the first in 0x40..0x7f: a positive integer of exactly 16 octets (126 random bits),
 * well inside RFC 5280's limit of 20 and never in need of a leading zero.
 */
export const randomSerial = (): Uint8Array => {
  const serial = new Uint8Array(crypto.randomBytes(16))
  serial[0] = (serial[0]! & 0x3f) | 0x40
  return serial
}

const emptyName = Der.sequence()

const signatureAlgorithm = Der.sequence(Der.objectIdentifier(Sha256WithRsaEncryptionOid), Der.nullValue())

/** The DER certificate; the token extension is non-critical, so its `critical` field is absent (DER default). */
export const make = (input: CertificateInput): Uint8Array => {
  const tbsCertificate = Der.sequence(
    Der.explicit(0, Der.smallInteger(2)),
    Der.unsignedInteger(input.serial ?? randomSerial()),
    signatureAlgorithm,
    emptyName,
    Der.sequence(Der.validityTime(notBefore), Der.validityTime(notAfter)),
    emptyName,
    input.publicKeySpkiDer,
    Der.explicit(3, Der.sequence(Der.sequence(Der.objectIdentifier(TokenExtensionOid), Der.octetString(input.token))))
  )
  const signature = crypto.sign("sha256", tbsCertificate, input.privateKey)
  return Der.sequence(tbsCertificate, signatureAlgorithm, Der.bitString(new Uint8Array(signature)))
}
