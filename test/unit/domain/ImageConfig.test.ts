import { Either } from "effect"
import { describe, expect, it } from "vitest"
import * as Digest from "../../../src/domain/Digest.js"
import * as ImageConfig from "../../../src/domain/ImageConfig.js"
import * as IsletImage from "./fixtures/IsletImage.js"

const bytes = (value: unknown): Uint8Array =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value))

const failure = (value: unknown): ImageConfig.InvalidImageConfig =>
  Either.getOrThrow(Either.flip(ImageConfig.decode(bytes(value))))

// The image configuration example of the OCI image spec (config.md), with its history.
const ociConfig = {
  created: "2015-10-31T22:22:56.015925234Z",
  author: "Alyssa P. Hacker <alyspdev@example.com>",
  architecture: "amd64",
  os: "linux",
  config: {
    User: "alice",
    ExposedPorts: { "8080/tcp": {} },
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "FOO=oci_is_a", "BAR=well_written_spec"],
    Entrypoint: ["/bin/my-app-binary"],
    Cmd: ["--foreground", "--config", "/etc/my-app.d/default.cfg"],
    Volumes: { "/var/job-result-data": {}, "/var/log/my-app-logs": {} },
    WorkingDir: "/home/alice",
    Labels: { "com.example.project.git.url": "https://example.com/project.git" }
  },
  rootfs: {
    diff_ids: [
      "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1",
      "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    ],
    type: "layers"
  },
  history: [
    { created: "2015-10-31T22:22:54.690851953Z", created_by: "/bin/sh -c #(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /" },
    { created: "2015-10-31T22:22:55.613815829Z", created_by: "/bin/sh -c #(nop) CMD [\"sh\"]", empty_layer: true },
    { created: "2015-10-31T22:22:56.329850019Z", created_by: "/bin/sh -c apk add curl" }
  ]
}

// A Docker-built config: nulls for empty fields and many fields this client does not use.
const dockerConfig = {
  architecture: "arm64",
  variant: "v8",
  os: "linux",
  config: {
    Hostname: "",
    User: "",
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    Cmd: ["/bin/sh"],
    Image: "sha256:7a9e8b6f3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f",
    Volumes: null,
    WorkingDir: "",
    Entrypoint: null,
    OnBuild: null,
    Labels: null
  },
  container_config: { Cmd: ["/bin/sh", "-c", "#(nop) ", "CMD [\"/bin/sh\"]"] },
  created: "2024-01-27T00:30:48.743965523Z",
  docker_version: "20.10.23",
  history: [
    { created: "2024-01-27T00:30:48.624602109Z", created_by: "/bin/sh -c #(nop) ADD file:abc in / " },
    { created: "2024-01-27T00:30:48.743965523Z", created_by: "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", empty_layer: true }
  ],
  rootfs: { type: "layers", diff_ids: ["sha256:d4fc045c9e3a848011de66f34b81f052d4f2c15a17bb196d637e526349601820"] }
}

describe("ImageConfig.decode", () => {
  it("reads the OCI spec's example config with its history", () => {
    const config = Either.getOrThrow(ImageConfig.decode(bytes(ociConfig)))
    expect(config.rootfs.diff_ids).toStrictEqual(ociConfig.rootfs.diff_ids)
    expect(config.config?.Entrypoint).toStrictEqual(["/bin/my-app-binary"])
    expect(config.history?.map((h) => h.empty_layer ?? false)).toStrictEqual([false, true, false])
    expect(config.author).toBe("Alyssa P. Hacker <alyspdev@example.com>")
  })

  it("reads a Docker config, taking null fields as absent and ignoring unknown ones", () => {
    const config = Either.getOrThrow(ImageConfig.decode(bytes(dockerConfig)))
    expect(config.config).toStrictEqual({
      User: "",
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/sh"],
      WorkingDir: ""
    })
    expect(config.variant).toBe("v8")
    expect("docker_version" in config).toBe(false)
  })

  it("reads the original client's test image config, byte for byte", () => {
    const configBytes = bytes(IsletImage.config)
    expect(Digest.fromBytes(configBytes)).toBe(IsletImage.configDigest)
    const config = Either.getOrThrow(ImageConfig.decode(configBytes))
    expect(config.rootfs.diff_ids).toHaveLength(3)
    expect(config.architecture).toBe("aarch64")
  })

  it("accepts a config with only rootfs", () => {
    expect(Either.isRight(ImageConfig.decode(bytes({ rootfs: { type: "layers", diff_ids: [] } })))).toBe(true)
  })

  it("requires rootfs", () => {
    const { rootfs: _, ...withoutRootfs } = ociConfig
    expect(failure(withoutRootfs).reason).toBe("rootfs: is missing")
  })

  it("refuses a rootfs type other than layers", () => {
    expect(failure({ ...ociConfig, rootfs: { ...ociConfig.rootfs, type: "squashfs" } }).reason).toMatch(
      /^rootfs\.type: Expected "layers"/
    )
  })

  it("names the bad diff_id", () => {
    const error = failure({ ...ociConfig, rootfs: { type: "layers", diff_ids: [ociConfig.rootfs.diff_ids[0], "sha256:XYZ"] } })
    expect(error._tag).toBe("InvalidImageConfig")
    expect(error.message).toBe(
      "invalid image config: rootfs.diff_ids[1]: sha256 needs 64 lowercase hex characters, got 3"
    )
  })

  it("names a bad field with a dotted key by bracket path", () => {
    expect(failure({ ...ociConfig, "os.version": 10 }).reason).toMatch(/^\["os\.version"\]: /)
  })

  it("refuses a Cmd that is a string instead of a list", () => {
    expect(failure({ ...ociConfig, config: { Cmd: "sh" } }).reason).toMatch(/^config\.Cmd: /)
  })

  it("refuses text that is not JSON", () => {
    expect(failure("{").reason).toMatch(/^not valid JSON/)
  })
})
