// Test certificate authorities and server/client certificates, made on the fly with @peculiar/x509 over
// WebCrypto: RSA, ECDSA P-256/P-384 and Ed25519 keys, intermediates, and validity windows in the past or future.
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import * as crypto from "node:crypto"

type Algorithm = crypto.webcrypto.Algorithm
type EcdsaParams = crypto.webcrypto.EcdsaParams
type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair

x509.cryptoProvider.set(crypto.webcrypto as Parameters<typeof x509.X509CertificateGenerator.create>[1] & object)

export type KeyKind = "rsa" | "p256" | "p384" | "ed25519"

const keyAlgorithms: Record<KeyKind, crypto.webcrypto.RsaHashedKeyGenParams | crypto.webcrypto.EcKeyGenParams | Algorithm> = {
  rsa: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 },
  p256: { name: "ECDSA", namedCurve: "P-256" },
  p384: { name: "ECDSA", namedCurve: "P-384" },
  ed25519: { name: "Ed25519" }
}

const signingAlgorithms: Record<KeyKind, Algorithm | EcdsaParams> = {
  rsa: { name: "RSASSA-PKCS1-v1_5" },
  p256: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
  p384: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams,
  ed25519: { name: "Ed25519" }
}

export interface Issued {
  readonly certificatePem: string
  readonly certificateDer: Uint8Array
  readonly privateKeyPem: string
  readonly privateKey: crypto.KeyObject
  readonly keys: CryptoKeyPair
  readonly kind: KeyKind
  readonly name: string
}

const generateKeys = async (kind: KeyKind): Promise<CryptoKeyPair> =>
  (await crypto.webcrypto.subtle.generateKey(keyAlgorithms[kind] as crypto.webcrypto.EcKeyGenParams, true, ["sign", "verify"])) as CryptoKeyPair

const day = 24 * 60 * 60 * 1000

const finish = (certificate: x509.X509Certificate, keys: CryptoKeyPair, kind: KeyKind, name: string): Issued => {
  const privateKey = crypto.KeyObject.from(keys.privateKey)
  return {
    certificatePem: certificate.toString("pem"),
    certificateDer: new Uint8Array(certificate.rawData),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    privateKey,
    keys,
    kind,
    name
  }
}

export const makeRootCa = async (name: string, kind: KeyKind = "p256"): Promise<Issued> => {
  const keys = await generateKeys(kind)
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 365 * day),
    signingAlgorithm: signingAlgorithms[kind],
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return finish(certificate, keys, kind, name)
}

export interface IssueOptions {
  readonly kind?: KeyKind
  readonly dnsNames?: ReadonlyArray<string>
  readonly ipAddresses?: ReadonlyArray<string>
  readonly ca?: boolean
  readonly notBefore?: Date
  readonly notAfter?: Date
}

export const issue = async (issuer: Issued, name: string, options: IssueOptions = {}): Promise<Issued> => {
  const kind = options.kind ?? "p256"
  const keys = await generateKeys(kind)
  const names: Array<x509.JsonGeneralName> = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value }))
  ]
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: `CN=${issuer.name}`,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    notBefore: options.notBefore ?? new Date(Date.now() - day),
    notAfter: options.notAfter ?? new Date(Date.now() + 30 * day),
    signingAlgorithm: signingAlgorithms[issuer.kind],
    extensions: [
      new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey)
    ]
  })
  return finish(certificate, keys, kind, name)
}

/** A server certificate for 127.0.0.1 and "localhost" under the given issuer. */
export const issueServer = (issuer: Issued, options: IssueOptions = {}): Promise<Issued> =>
  issue(issuer, "test server", { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], ...options })
