// The seed's name for the RA-TLS client credential (`RaTlsCertResolver`, rustls' client certificate
// resolver in the Rust client), kept so code ported from the seed reads the same: `Config.builder()
// .host(h).raTls(roots, RaTlsCertResolver.fromTokenResolver(resolver))`.
import type { RaTlsCredentials } from "./RaTlsCredentials.js"

export type RaTlsCertResolver = RaTlsCredentials["Type"]

export { fromTokenResolver } from "./RaTlsCredentials.js"
