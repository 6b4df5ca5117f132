/**
 * oci-ratls-client: pull OCI images from a registry over plain HTTP, TLS or RA-TLS, verify every byte,
 * and unpack them. Effect API: each concept is a namespace (`Client.fromConfig`, `RegistryApi.RegistryApi`,
 * `Digest.parse`, ...); callers who do not use Effect import "oci-ratls-client/promise" instead.
 */
export * as Config from "./domain/Config.js"
export * as Descriptor from "./domain/Descriptor.js"
export * as Digest from "./domain/Digest.js"
export * as ImageConfig from "./domain/ImageConfig.js"
export * as Manifest from "./domain/Manifest.js"
export * as MediaType from "./domain/MediaType.js"
export * as Platform from "./domain/Platform.js"
export * as Reference from "./domain/Reference.js"
export * as RegistryErrorBody from "./domain/RegistryError.js"
export * as RepositoryName from "./domain/RepositoryName.js"
export * as Tag from "./domain/Tag.js"
export * as TagList from "./domain/TagList.js"

export * as HttpTransport from "./services/HttpTransport/HttpTransport.js"
export * as NodeHttpTransport from "./services/HttpTransport/NodeHttpTransport.js"
export * as RegistryApi from "./services/RegistryApi/RegistryApi.js"
export * as RegistryErrors from "./services/RegistryApi/RegistryErrors.js"
export * as Client from "./services/Client/Client.js"
export type { ImageInfo } from "./services/Client/ImageInfo.js"
export * as Unpacker from "./services/Unpacker/Unpacker.js"
export * as UnpackErrors from "./services/Unpacker/UnpackError.js"

export * as TokenResolver from "./services/TokenResolver/TokenResolver.js"
export * as RaTlsCredentials from "./services/RaTlsCredentials/RaTlsCredentials.js"
export * as RaTlsCertResolver from "./services/RaTlsCredentials/RaTlsCertResolver.js"
export * as RaTlsChallenge from "./services/RaTlsCredentials/RaTlsChallenge.js"
export * as RaTlsHttpTransport from "./services/HttpTransport/RaTlsHttpTransport.js"

/** The TLS 1.3 engine under the RA-TLS transport: a client socket for node:http, and a server role. */
export * as Tls13Client from "./services/Tls13/Tls13Socket.js"
export * as Tls13Server from "./services/Tls13/Tls13Server.js"
export * as Tls13Errors from "./services/Tls13/Tls13Error.js"

/** Arm CCA attestation tokens: parsing, COSE signatures, verification, reference values, a software attester. */
export * as CcaToken from "./domain/cca/CcaToken.js"
export * as CcaVerification from "./domain/cca/CcaVerification.js"
export * as ReferenceValues from "./domain/cca/ReferenceValues.js"
export * as SoftwareAttester from "./domain/cca/SoftwareAttester.js"
