// X.509 certificates made at test time: CAs, intermediates and leaves with any key type, names and validity.
// Nothing here checks that a request makes sense (a leaf may sign, a certificate may be expired), because
// the TLS tests need exactly the certificates a careful issuer would refuse to make.
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { Effect } from "effect"
import { webcrypto } from "node:crypto"

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

export type KeyType = "ec-p256" | "ec-p384" | "rsa-2048" | "ed25519"

export interface IssuedCertificate {
  readonly certPem: string
  /** PKCS#8 PEM */
  readonly keyPem: string
  readonly certDer: Uint8Array
  /** This certificate, then each issuer up to but excluding the self-signed root: what a server presents. */
  readonly chainPem: string
  readonly keyType: KeyType
  readonly certificate: x509.X509Certificate
  readonly keys: CryptoKeyPair
}

export interface CaOptions {
  readonly commonName?: string
  readonly keyType?: KeyType
  readonly notBefore?: Date
  readonly notAfter?: Date
}

export interface CertificateOptions {
  readonly commonName?: string
  /** Default for a leaf: DNS localhost, IP 127.0.0.1 and ::1. Pass `{}` for none. */
  readonly sans?: { readonly dns?: ReadonlyArray<string>; readonly ip?: ReadonlyArray<string> }
  readonly notBefore?: Date
  readonly notAfter?: Date
  readonly isCa?: boolean
  readonly keyType?: KeyType
  /** Appended to the extensions this module writes. */
  readonly extraExtensions?: ReadonlyArray<x509.Extension>
}

type CryptoKeyPair = webcrypto.CryptoKeyPair

const hour = 3600_000
const day = 24 * hour

const keyAlgorithm = (keyType: KeyType): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams | { name: string } => {
  switch (keyType) {
    case "ec-p256":
      return { name: "ECDSA", namedCurve: "P-256" }
    case "ec-p384":
      return { name: "ECDSA", namedCurve: "P-384" }
    case "rsa-2048":
      return {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256"
      }
    case "ed25519":
      return { name: "Ed25519" }
  }
}

/** The signature algorithm a key of this type signs certificates with. */
const signingAlgorithm = (keyType: KeyType): { name: string; hash?: string } => {
  switch (keyType) {
    case "ec-p256":
      return { name: "ECDSA", hash: "SHA-256" }
    case "ec-p384":
      return { name: "ECDSA", hash: "SHA-384" }
    case "rsa-2048":
      return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
    case "ed25519":
      return { name: "Ed25519" }
  }
}

const generateKeys = (keyType: KeyType) =>
  Effect.promise(() =>
    webcrypto.subtle.generateKey(keyAlgorithm(keyType), true, ["sign", "verify"]) as Promise<CryptoKeyPair>
  )

const privateKeyPem = (key: webcrypto.CryptoKey) =>
  Effect.promise(() => webcrypto.subtle.exportKey("pkcs8", key)).pipe(
    Effect.map((der) => x509.PemConverter.encode(der, "PRIVATE KEY"))
  )

const randomSerial = (): string => {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16))
  bytes[0] = bytes[0]! & 0x7f // a positive INTEGER
  return Buffer.from(bytes).toString("hex")
}

const distinguishedName = (commonName: string): string => `CN=${commonName.replace(/([,+"\\<>;=])/g, "\\$1")}`

const finish = (
  certificate: x509.X509Certificate,
  keys: CryptoKeyPair,
  keyType: KeyType,
  issuerChain: string
) =>
  Effect.map(privateKeyPem(keys.privateKey), (keyPem): IssuedCertificate => {
    const certPem = certificate.toString("pem") + "\n"
    return {
      certPem,
      keyPem,
      certDer: new Uint8Array(certificate.rawData),
      chainPem: certPem + issuerChain,
      keyType,
      certificate,
      keys
    }
  })

const caKeyUsage = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature

/** A self-signed root CA. */
export const makeCa = (options: CaOptions = {}): Effect.Effect<IssuedCertificate> =>
  Effect.gen(function*() {
    const keyType = options.keyType ?? "ec-p256"
    const keys = yield* generateKeys(keyType)
    const now = Date.now()
    const certificate = yield* Effect.promise(async () =>
      x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerial(),
        name: distinguishedName(options.commonName ?? "oci-fixture test root CA"),
        notBefore: options.notBefore ?? new Date(now - hour),
        notAfter: options.notAfter ?? new Date(now + 30 * day),
        signingAlgorithm: signingAlgorithm(keyType),
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(caKeyUsage, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
        ]
      })
    )
    return yield* finish(certificate, keys, keyType, "")
  }).pipe(Effect.withSpan("Certificates.makeCa"))

const defaultSans = { dns: ["localhost"], ip: ["127.0.0.1", "::1"] }

const isSelfSigned = (c: x509.X509Certificate): boolean => c.subject === c.issuer

/** A certificate signed by `issuer`: a leaf for a TLS server by default, an intermediate CA with `isCa`. */
export const issueCertificate = (
  issuer: IssuedCertificate,
  options: CertificateOptions = {}
): Effect.Effect<IssuedCertificate> =>
  Effect.gen(function*() {
    const keyType = options.keyType ?? "ec-p256"
    const keys = yield* generateKeys(keyType)
    const isCa = options.isCa ?? false
    const sans = options.sans ?? (isCa ? {} : defaultSans)
    const names: Array<x509.JsonGeneralName> = [
      ...(sans.dns ?? []).map((value) => ({ type: "dns" as const, value })),
      ...(sans.ip ?? []).map((value) => ({ type: "ip" as const, value }))
    ]
    // RSA keys may also be used for key transport (TLS 1.2 RSA key exchange); EC and EdDSA keys only sign.
    const leafUsage = x509.KeyUsageFlags.digitalSignature |
      (keyType === "rsa-2048" ? x509.KeyUsageFlags.keyEncipherment : 0)
    const now = Date.now()
    const certificate = yield* Effect.promise(async () =>
      x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: distinguishedName(options.commonName ?? (isCa ? "oci-fixture test intermediate CA" : "localhost")),
        issuer: issuer.certificate.subject,
        notBefore: options.notBefore ?? new Date(now - hour),
        notAfter: options.notAfter ?? new Date(now + 30 * day),
        signingAlgorithm: signingAlgorithm(issuer.keyType),
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(isCa, undefined, true),
          new x509.KeyUsagesExtension(isCa ? caKeyUsage : leafUsage, true),
          ...(isCa
            ? []
            : [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth])]),
          ...(names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)]),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
          ...(options.extraExtensions ?? [])
        ]
      })
    )
    const issuerChain = isSelfSigned(issuer.certificate) ? "" : issuer.chainPem
    return yield* finish(certificate, keys, keyType, issuerChain)
  }).pipe(Effect.withSpan("Certificates.issueCertificate"))

export interface ServerCertificates {
  readonly ca: IssuedCertificate
  readonly server: IssuedCertificate
}

/** A root CA and a server certificate for localhost / 127.0.0.1 / ::1 signed by it: the usual TLS setup. */
export const makeServerCertificates = (
  options: { readonly keyType?: KeyType } = {}
): Effect.Effect<ServerCertificates> =>
  Effect.gen(function*() {
    const ca = yield* makeCa(options)
    const server = yield* issueCertificate(ca, options)
    return { ca, server }
  })

/** The `tls` option of `startRegistry` (and of the fault proxy) for a server certificate and its CA. */
export const serverTls = ({ ca, server }: ServerCertificates) => ({
  certPem: server.chainPem,
  keyPem: server.keyPem,
  caPem: ca.certPem
})
