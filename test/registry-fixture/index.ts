// The test fixture: a real Distribution registry, certificates, image building, pushing and a fault proxy.
// Integration tests and the benchmark import everything from here.
export * from "./Certificates.js"
export * from "./Detached.js"
export * from "./FaultProxy.js"
export * from "./ImageBuilder.js"
export * from "./Push.js"
export * as RawHttp from "./RawHttp.js"
export * from "./Registry.js"
export * from "./LayoutRegistry.js"
export * from "./LayoutRequestHandler.js"
export * from "./OciLayout.js"
export * as RaTlsPolicy from "./RaTlsPolicy.js"
export * as RaTlsVerifier from "./RaTlsVerifier.js"
