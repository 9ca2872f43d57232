/**
 * What src/manifest writes, the device reads: envelopes and pointers made here are verified by
 * device/mpota/envelope.py on the virtual device, and every field comes back the same.
 */
import { describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import { channelPointer, envelopeBytes } from "../manifest/envelope.ts";
import { sha256Hex } from "../manifest/hash.ts";
import { generateKeyPair } from "../manifest/keys.ts";
import type { Manifest } from "../manifest/schema.ts";
import { signEnvelope } from "../manifest/sign.ts";
import { validateManifest } from "../manifest/validate.ts";

describe("envelopes on the device", () => {
  it("verifies a release and a pointer made by src/manifest, reading back every field", async () => {
    const [a, b] = [generateKeyPair(), generateKeyPair()];
    const entry = (path: string, size: number) => ({
      path,
      size,
      sha256: sha256Hex(path),
      blobs: { zlib: 20 },
    });
    const manifest: Manifest = validateManifest({
      format: 1,
      project: "greenhouse",
      version: "2.0.0-rc.1+build.7",
      created: "2026-11-23T06:00:00Z",
      rollback: true,
      min_loader: 1,
      hooks: { post_update: "lib/setup.py" },
      files: [
        entry("README.md", 0),
        {
          ...entry("lib/setup.py", 300),
          git_sha1: "e".repeat(40),
          blobs: {
            zlib: 200,
            patches: [
              { encoding: "fossil", from_sha256: "d".repeat(64), sha256_of_patch: "c".repeat(64), size: 30 },
            ],
          },
        },
        entry("lib/ü/日本.py", 12),
        entry("main.py", 5),
      ],
    });
    const release = envelopeBytes(signEnvelope(manifest, [a, b]));
    const pointer = envelopeBytes(
      signEnvelope(
        channelPointer({
          channel: "beta",
          project: "greenhouse",
          version: manifest.version,
          envelope: release,
        }),
        b,
      ),
    );
    const script = `
import json
from mpota import envelope
h = envelope.verify("/r.json", ["${b.publicKeyHex}"], "greenhouse")
files = list(envelope.files("/r.json"))
p = envelope.pointer(open("/p.json", "rb").read(), ["${a.publicKeyHex}", "${b.publicKeyHex}"], "greenhouse")
print(json.dumps([h, files, p]))
`;
    const { value } = await runDeviceScript(script, { "r.json": release, "p.json": pointer });
    const { files, ...header } = manifest;
    expect(value).toEqual([
      header,
      files,
      {
        channel: "beta",
        project: "greenhouse",
        release: "releases/2.0.0-rc.1+build.7.json",
        sha256: sha256Hex(release),
        size: release.length,
        version: "2.0.0-rc.1+build.7",
      },
    ]);
  });
});
