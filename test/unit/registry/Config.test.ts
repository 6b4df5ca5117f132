import { describe, expect, it } from "vitest"
import { Either } from "effect"
import * as Config from "../../../src/domain/Config.js"

const originOf = (config: Config.Config) =>
  Either.match(Config.validate(config), { onLeft: (e) => `error: ${e.reason}`, onRight: (r) => r.origin.href })

describe("Config", () => {
  it("accepts the seed's host forms and derives the scheme from the mode", () => {
    expect(originOf(Config.builder().host("localhost:1337").noTls())).toBe("http://localhost:1337/")
    expect(originOf(Config.builder().host("http://localhost:1337").noTls())).toBe("http://localhost:1337/")
    expect(originOf(Config.builder().host("registry.test:443").tls("PEM"))).toBe("https://registry.test/")
    expect(originOf(Config.builder().host("https://127.0.0.1:5000").tls(["A", "B"]))).toBe("https://127.0.0.1:5000/")
    expect(originOf(Config.builder().host("[::1]:8443").customTls({}))).toBe("https://[::1]:8443/")
  })

  it("refuses a scheme that contradicts the mode, naming both", () => {
    const noTls = Config.validate(Config.builder().host("https://localhost:1337").noTls())
    const tls = Config.validate(Config.builder().host("http://localhost:1337").tls("PEM"))
    expect(Either.isLeft(noTls) && noTls.left._tag).toBe("InvalidConfig")
    expect(Either.isLeft(noTls) && noTls.left.message).toContain("https contradicts the no-tls mode")
    expect(Either.isLeft(tls) && tls.left.message).toContain("http contradicts the tls mode")
  })

  it("refuses hosts carrying paths, credentials or other schemes", () => {
    expect(originOf(Config.builder().host("localhost:1337/v2").noTls())).toMatch(/^error: .*path/)
    expect(originOf(Config.builder().host("http://u:p@localhost").noTls())).toMatch(/^error: credentials/)
    expect(originOf(Config.builder().host("ftp://localhost").noTls())).toMatch(/^error: scheme "ftp"/)
    expect(originOf(Config.builder().host("").noTls())).toMatch(/^error: the host is empty/)
  })

  it("keeps the timeouts it was given", () => {
    const config = Config.builder().host("localhost:1").connectTimeout("2 seconds").idleTimeout(1500).noTls()
    expect(config.timeouts.connect.toJSON()).toEqual({ _id: "Duration", _tag: "Millis", millis: 2000 })
    expect(config.timeouts.idle.toJSON()).toEqual({ _id: "Duration", _tag: "Millis", millis: 1500 })
  })
})
