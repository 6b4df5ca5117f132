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
