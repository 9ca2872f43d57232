/** `mpota publish --static`, run as a user would (child processes). */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../testing/cli.ts";
import { startTestServer } from "../../../testing/server.ts";
import {
  generateKeyPair,
  parsePointerEnvelope,
  privateKeyPem,
  sha256Hex,
  verifyEnvelope,
} from "../../manifest/index.ts";
import { buildRelease } from "../../release/index.ts";
import { AdminClient } from "../../server/admin-client.ts";
import { openStore } from "../../store/index.ts";

const mpota = (cwd: string, ...args: string[]) => runCli(args, { cwd });

async function workspace() {
  const dir = mkdtempSync(join(tmpdir(), "mpota-cli-publish-"));
  const key = generateKeyPair();
  writeFileSync(join(dir, "release.key"), privateKeyPem(key), { mode: 0o600 });
  mkdirSync(join(dir, "app"));
  const store = openStore(join(dir, "store"));
  const versions: Record<string, Buffer> = {};
  for (const [version, text] of [
    ["1.0.0", "one"],
    ["1.1.0", "two"],
  ] as const) {
    writeFileSync(join(dir, "app/main.py"), text);
    versions[version] = (
      await buildRelease({ dir: join(dir, "app"), project: "greenhouse", version, key, store })
    ).bytes;
  }
  return { dir, key, store, versions };
}

const base = ["publish", "--store", "store", "--project", "greenhouse", "--channel", "stable"];

describe("mpota publish --static", () => {
  it("publishes the latest release (or --version) with a signed, expiring pointer", async () => {
    const { dir, key, store, versions } = await workspace();
    const first = await mpota(dir, ...base, "--static", "site", "--version", "1.0.0");
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toBe(
      "published greenhouse 1.0.0 to site: 1 file written, 0 already there\nchannel stable -> 1.0.0, pointer unsigned\n",
    );
    const latest = await mpota(
      dir,
      ...base,
      "--static",
      "site",
      "--key",
      "release.key",
      "--expires",
      "30d",
      "--json",
    );
    expect(latest.code).toBe(0);
    const result = JSON.parse(latest.stdout);
    expect(result).toMatchObject({
      target: "static",
      site: "site",
      project: "greenhouse",
      version: "1.1.0",
      channel: "stable",
      signed: true,
      written: 1,
      skipped: 0,
      previous: "1.0.0",
    });
    const days = (Date.parse(result.pointer.expires) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    const root = join(dir, "site/greenhouse");
    expect(readdirSync(join(root, "releases")).sort()).toEqual(["1.0.0.json", "1.1.0.json"]);
    expect(readFileSync(join(root, "releases/1.1.0.json"))).toEqual(versions["1.1.0"]);
    const blobs = store.readRelease("greenhouse", "1.1.0").envelope.signed.files.map((f) => `${f.sha256}.z`);
    expect(readdirSync(join(root, "blobs"))).toEqual(expect.arrayContaining(blobs));
    const pointer = parsePointerEnvelope(readFileSync(join(root, "channels/stable.json")));
    expect(verifyEnvelope(pointer, [key.publicKeyHex])).toEqual([key.keyId]);
    expect(pointer.signed).toMatchObject({ version: "1.1.0", sha256: sha256Hex(versions["1.1.0"]!) });
  });

  it("says in one line what is wrong with each bad argument", async () => {
    const { dir } = await workspace();
    const cases: Array<[string[], string]> = [
      [
        base,
        "mpota: say where to publish: --static SITE or --server URL or --github OWNER/REPO or --micropython-ota DIR\n",
      ],
      [
        [...base, "--static", "site", "--version", "2.0.0"],
        "mpota: the store store has no release greenhouse 2.0.0 (it has: 1.0.0, 1.1.0)\n",
      ],
      [[...base, "--static", "site", "--version", "two"], 'mpota: --version "two": not a semver version\n'],
      [
        [...base.slice(0, 2), "nostore", ...base.slice(3), "--static", "site"],
        "mpota: --store nostore: no such folder\n",
      ],
      [
        ["publish", "--store", "store", "--project", "other", "--channel", "stable", "--static", "site"],
        "mpota: the store store has no release of other\n",
      ],
      [
        [...base.slice(0, -1), "Stable", "--static", "site"],
        'mpota: --channel "Stable": use [a-z0-9][a-z0-9._-]{0,63} (e.g. stable)\n',
      ],
      [
        [...base, "--static", "site", "--expires", "soon"],
        "mpota: --expires soon: give a duration (30d, 12h, 90m) or a future UTC time (2027-01-01T00:00Z)\n",
      ],
      [
        [...base, "--static", "site", "--key", "nope.key"],
        "mpota: key file nope.key cannot be read (ENOENT)\n",
      ],
      [
        [...base, "--static", "site", "--expires", "30d"],
        "mpota: --expires needs --key: whoever can rewrite an unsigned pointer can take its expiry out\n",
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => mpota(dir, ...args)));
    results.forEach((r, i) => {
      const [args, stderr] = cases[i]!;
      expect({ args, code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
        args,
        code: 2,
        stderr,
        stdout: "",
      });
    });
    // Nothing reached the site.
    expect(readdirSync(dir).sort()).toEqual(["app", "release.key", "store"]);
  });

  it("warns when the pointer is signed with a key that did not sign the release", async () => {
    const { dir, key } = await workspace();
    const other = generateKeyPair();
    writeFileSync(join(dir, "other.key"), privateKeyPem(other), { mode: 0o600 });
    const r = await mpota(dir, ...base, "--static", "site", "--key", "other.key");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `warning: --key ${other.keyId} did not sign release greenhouse 1.1.0 (signed by ${key.keyId}): ` +
        "boards that do not list this key refuse the pointer\n",
    );
    expect((await mpota(dir, ...base, "--static", "site", "--key", "release.key")).stderr).toBe("");
  });
});

describe("mpota publish --server", () => {
  it("uploads a stored release to a live update server and points the channel at it", async () => {
    const { dir, key } = await workspace();
    const server = await startTestServer("sqlite");
    try {
      const url = await server.app.listen({ port: 0, host: "127.0.0.1" });
      const admin = new AdminClient(url, server.adminToken);
      await admin.request("POST", "/projects", { name: "greenhouse" });
      await admin.request("POST", "/projects/greenhouse/keys", { publicKey: key.publicKeyHex });
      const auth = ["--server", url, "--token", server.adminToken];
      const first = await mpota(dir, ...base, ...auth, "--version", "1.0.0", "--json");
      expect(first).toMatchObject({ code: 0, stderr: "" });
      expect(JSON.parse(first.stdout)).toMatchObject({
        target: "server",
        project: "greenhouse",
        version: "1.0.0",
        uploaded: 1,
        skipped: 0,
        channel: "stable",
      });
      const [latest, both, signed, badToken] = await Promise.all([
        mpota(dir, ...base, ...auth),
        mpota(dir, ...base, ...auth, "--static", "site"),
        mpota(dir, ...base, ...auth, "--key", "release.key"),
        mpota(dir, ...base, "--server", url, "--token", "wrong"),
      ]);
      expect(latest).toMatchObject({
        code: 0,
        stdout: `published greenhouse 1.1.0 to ${url}: 1 file uploaded, 0 already there\nchannel stable -> 1.1.0\n`,
      });
      expect(both).toMatchObject({
        code: 2,
        stderr: "mpota: publish to one target at a time: --static SITE or --server URL\n",
      });
      expect(signed).toMatchObject({
        code: 2,
        stderr:
          "mpota: --key and --expires sign static channel pointers; the server answers devices with its own\n",
      });
      expect(badToken.code).toBe(2);
      expect(badToken.stderr).toMatch(/^mpota: POST \/projects\/greenhouse\/releases\/plan: 401 /);
      const { releases } = await admin.request<{ releases: Array<{ version: string }> }>(
        "GET",
        "/projects/greenhouse/releases",
      );
      expect(releases.map((r) => r.version).sort()).toEqual(["1.0.0", "1.1.0"]);
    } finally {
      await server.close();
    }
  });
});
