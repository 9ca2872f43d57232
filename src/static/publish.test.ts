import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import {
  ANSWER_FORMATS,
  answerPack,
  applyPatch,
  decodePack,
  makeEnvelopePatch,
  makeReleasePack,
  makeReleasePatches,
} from "../delta/index.ts";
import {
  generateKeyPair,
  parsePointerEnvelope,
  parseReleaseEnvelope,
  sha256Hex,
  verifyEnvelope,
} from "../manifest/index.ts";
import { buildRelease } from "../release/index.ts";
import { packName } from "../rules/index.ts";
import { compressBlob, openStore, type ReleaseStore } from "../store/index.ts";
import { parseExpiry, publishStatic, sitePaths } from "./publish.ts";

const key = generateKeyPair();
const temp = (name: string) => mkdtempSync(join(tmpdir(), `mpota-${name}-`));

async function release(
  store: ReleaseStore,
  version: string,
  files: Record<string, string>,
  rollbackFrom?: string[],
) {
  const dir = temp("app");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return buildRelease({
    dir,
    project: "greenhouse",
    version,
    key,
    store,
    rollback: !!rollbackFrom,
    rollbackFrom,
  });
}

const listing = (dir: string) => readdirSync(dir, { recursive: true }).map(String).sort();

describe("publishStatic", () => {
  it("writes the static layout of docs/protocol.md with a signed, expiring pointer", async () => {
    const store = openStore(temp("store"));
    const built = await release(store, "1.0.0", { "main.py": "print(1)", "lib/a.py": "a" });
    const site = temp("site");
    const expires = new Date("2026-12-23T00:00:00.500Z");
    const result = publishStatic({
      site,
      store,
      project: "greenhouse",
      version: "1.0.0",
      channel: "stable",
      key,
      expires,
    });
    const files = built.envelope.signed.files;
    const paths = sitePaths(site, "greenhouse");
    expect(listing(site)).toEqual(
      [
        "greenhouse",
        "greenhouse/blobs",
        ...files.map((f) => `greenhouse/blobs/${f.sha256}.z`),
        "greenhouse/channels",
        "greenhouse/channels/stable.json",
        "greenhouse/channels/stable.pack",
        "greenhouse/channels/stable.up",
        "greenhouse/releases",
        "greenhouse/releases/1.0.0.json",
      ].sort(),
    );
    // The channel named no release before: its check answers are the pointer alone (signed: as it is).
    for (const format of ANSWER_FORMATS)
      expect(readFileSync(paths.answer("stable", format))).toEqual(readFileSync(paths.channel("stable")));
    expect(readFileSync(paths.release("1.0.0"))).toEqual(built.bytes);
    for (const f of files) expect(readFileSync(paths.blob(f.sha256))).toEqual(store.readBlob(f.sha256));
    const pointer = parsePointerEnvelope(readFileSync(paths.channel("stable")));
    expect(verifyEnvelope(pointer, [key.publicKeyHex])).toEqual([key.keyId]);
    expect(pointer.signed).toEqual({
      channel: "stable",
      project: "greenhouse",
      release: "releases/1.0.0.json",
      sha256: sha256Hex(built.bytes),
      size: built.bytes.length,
      version: "1.0.0",
      expires: "2026-12-23T00:00:00Z",
    });
    expect(result).toMatchObject({
      version: "1.0.0",
      channel: "stable",
      signed: true,
      written: 2,
      skipped: 0,
    });
  });

  it("copies only what the site lacks, signed patches included; an unsigned pointer without a key", async () => {
    const store = openStore(temp("store"));
    await release(store, "1.0.0", { "main.py": "1", "same.py": "s" });
    const site = temp("site");
    publishStatic({ site, store, project: "greenhouse", version: "1.0.0", channel: "stable" });
    const v2 = await buildRelease({
      dir: (() => {
        const d = temp("app");
        writeFileSync(join(d, "main.py"), "2");
        writeFileSync(join(d, "same.py"), "s");
        return d;
      })(),
      project: "greenhouse",
      version: "1.1.0",
      key,
      store,
      signedPatches: true,
      // A stand-in patch maker: the publisher only copies what the store holds.
      makePatches: ({ previous }) => {
        const from = previous[0]!.envelope.signed.files.find((f) => f.path === "main.py")!.sha256;
        const data = compressBlob(Buffer.from("a stand-in delta"));
        const patch = {
          encoding: "fossil",
          from_sha256: from,
          sha256_of_patch: sha256Hex(data),
          size: data.length,
        };
        return [{ path: "main.py", data, patch }];
      },
    });
    const result = publishStatic({ site, store, project: "greenhouse", version: "1.1.0", channel: "stable" });
    expect(result).toMatchObject({ written: 2, skipped: 1, signed: false, previous: "1.0.0" });
    const main = v2.envelope.signed.files.find((f) => f.path === "main.py")!;
    const patch = main.blobs.patches![0]!;
    expect(readFileSync(sitePaths(site, "greenhouse").patch(patch.from_sha256, main.sha256))).toEqual(
      store.readPatch(patch.from_sha256, main.sha256),
    );
    const pointerText = readFileSync(sitePaths(site, "greenhouse").channel("stable"), "utf8");
    expect(pointerText.startsWith('{"signatures":[],"signed":\n')).toBe(true);
    // Publishing the same release again changes nothing but the pointer; another channel can follow.
    expect(
      publishStatic({ site, store, project: "greenhouse", version: "1.1.0", channel: "stable" }),
    ).toMatchObject({
      written: 0,
      skipped: 3,
    });
    publishStatic({ site, store, project: "greenhouse", version: "1.0.0", channel: "beta" });
    expect(
      parsePointerEnvelope(readFileSync(sitePaths(site, "greenhouse").channel("beta"))).signed.version,
    ).toBe("1.0.0");
  });

  it("copies the patches from earlier envelopes to the release's envelope", async () => {
    const store = openStore(temp("store"));
    const build = (version: string, main: string) => {
      const dir = temp("app");
      writeFileSync(join(dir, "main.py"), main);
      return buildRelease({ dir, project: "greenhouse", version, key, store, makeEnvelopePatch });
    };
    const v1 = await build("1.0.0", "1");
    const v2 = await build("1.1.0", "2");
    const site = temp("site");
    publishStatic({ site, store, project: "greenhouse", version: "1.1.0", channel: "stable" });
    const patch = readFileSync(sitePaths(site, "greenhouse").patch(v1.sha256, v2.sha256));
    expect(patch).toEqual(store.readPatch(v1.sha256, v2.sha256));
    expect(
      Buffer.from(applyPatch(v1.bytes, patch, "fossil", { size: v2.bytes.length, sha256: v2.sha256 })),
    ).toEqual(v2.bytes);
  });

  it("copies the update packs leading to the release, not the file patches they carry, and refuses a damaged one", async () => {
    const store = openStore(temp("store"));
    const build = (version: string, main: string) => {
      const dir = temp("app");
      writeFileSync(join(dir, "main.py"), main);
      writeFileSync(join(dir, "same.py"), "s");
      return buildRelease({
        dir,
        project: "greenhouse",
        version,
        key,
        store,
        makePatches: makeReleasePatches,
        makeEnvelopePatch,
        makePack: makeReleasePack,
      });
    };
    const module = Array.from({ length: 100 }, (_, i) => `x${i} = ${i * 3}\n`).join("");
    const v1 = await build("1.0.0", module);
    const v2 = await build("1.1.0", module.replace("x5 =", "y5 ="));
    const v3 = await build("1.2.0", module.replace("x6 =", "y6 ="));
    const site = temp("site");
    const paths = sitePaths(site, "greenhouse");
    const result = publishStatic({ site, store, project: "greenhouse", version: "1.2.0", channel: "stable" });
    // 2 blobs, 2 envelope patches, 2 packs
    expect(result).toMatchObject({ written: 6, skipped: 0 });
    expect(listing(join(paths.root, "packs"))).toEqual(
      [packName(v1.sha256, v3.sha256), packName(v2.sha256, v3.sha256)].sort(),
    );
    expect(readFileSync(paths.pack(v2.sha256, v3.sha256))).toEqual(store.readPack(v2.sha256, v3.sha256));
    const records = decodePack(readFileSync(paths.pack(v2.sha256, v3.sha256)));
    const main = v3.envelope.signed.files.find((f) => f.path === "main.py")!;
    expect(records.map((r) => [r.kind, r.key])).toEqual([
      ["e", v3.sha256.slice(0, 16)],
      [expect.stringMatching(/^[fb]$/), main.sha256.slice(0, 16)], // the patch, whichever encoding won
    ]);
    expect(main.blobs.patches).toBe(undefined);
    expect(listing(join(paths.root, "patches"))).toHaveLength(2); // the envelope patches only
    // The channel named no release before: its check answer is the (unsigned) pointer alone, without
    // what a board knows (project, channel, release path).
    const line = Buffer.concat([Buffer.from(`1.2.0 ${v3.bytes.length}\n`), Buffer.from(v3.sha256, "hex")]);
    const compact = Buffer.from(
      `{"signatures":[],"signed":\n{"sha256":"${v3.sha256}","size":${v3.bytes.length},"version":"1.2.0"}\n}\n`,
    );
    expect(readFileSync(paths.answer("stable", "up"))).toEqual(line);
    expect(readFileSync(paths.answer("stable", "pack"))).toEqual(compact);

    // A channel that moves from 1.1.0 to 1.2.0: its check answer brings the pack from 1.1.0, in "up" with
    // the envelope's patch in copy-hex.
    publishStatic({ site, store, project: "greenhouse", version: "1.1.0", channel: "beta" });
    publishStatic({ site, store, project: "greenhouse", version: "1.2.0", channel: "beta" });
    expect(parsePointerEnvelope(readFileSync(paths.channel("beta"))).signed.version).toBe("1.2.0");
    const stored = store.readPack(v2.sha256, v3.sha256);
    expect(readFileSync(paths.answer("beta", "up"))).toEqual(
      Buffer.concat([
        line,
        Buffer.from(v2.sha256.slice(0, 16), "hex"),
        answerPack(stored, "up", v2.bytes, v3.bytes),
      ]),
    );
    expect(decodePack(answerPack(stored, "up", v2.bytes, v3.bytes))[0]!.kind).toBe("h");
    expect(readFileSync(paths.answer("beta", "pack"))).toEqual(
      Buffer.concat([compact, Buffer.from(v2.sha256.slice(0, 16)), stored]),
    );

    writeFileSync(store.packPath(v1.sha256, v2.sha256), "MPK1e");
    const other = temp("site");
    expect(() =>
      publishStatic({ site: other, store, project: "greenhouse", version: "1.1.0", channel: "stable" }),
    ).toThrow(
      `update pack ${v1.sha256}-${v2.sha256} in the store is damaged (truncated pack record at byte 4)`,
    );
    expect(listing(other).filter((f) => f.includes("channels/") || f.includes("releases/"))).toEqual([]);
  });

  it("writes the pointer last: while blobs are copied the old pointer stands and no envelope exists", async () => {
    const store = openStore(temp("store"));
    await release(store, "1.0.0", { "main.py": "1" });
    await release(store, "1.1.0", { "main.py": "2", "a.py": "a", "b.py": "b" });
    const site = temp("site");
    publishStatic({ site, store, project: "greenhouse", version: "1.0.0", channel: "stable" });
    const paths = sitePaths(site, "greenhouse");
    const seen: string[] = [];
    publishStatic({
      site,
      store,
      project: "greenhouse",
      version: "1.1.0",
      channel: "stable",
      onProgress: (done, total) => {
        const pointer = parsePointerEnvelope(readFileSync(paths.channel("stable"))).signed.version;
        seen.push(`${done}/${total} ${pointer} ${readdirSync(join(paths.root, "releases")).join(",")}`);
      },
    });
    expect(seen).toEqual(["1/3 1.0.0 1.0.0.json", "2/3 1.0.0 1.0.0.json", "3/3 1.0.0 1.0.0.json"]);
    expect(parsePointerEnvelope(readFileSync(paths.channel("stable"))).signed.version).toBe("1.1.0");
  });

  it("lets a reader polling the site see only complete releases", async () => {
    const store = openStore(temp("store"));
    const versions = Array.from({ length: 5 }, (_, i) => `1.${i}.0`);
    for (const v of versions) {
      const files: Record<string, string> = {};
      for (let f = 0; f < 8; f++) files[`lib/m${f}.py`] = `# ${v} ${f}\n${"x".repeat(2000 + f)}`;
      await release(store, v, files);
    }
    const site = temp("site");
    const paths = sitePaths(site, "greenhouse");
    // shared[0]: stop flag; shared[1]: complete checks the reader has made.
    const shared = new Int32Array(new SharedArrayBuffer(8));
    publishStatic({ site, store, project: "greenhouse", version: versions[0]!, channel: "stable" });
    // A reader in another thread: pointer -> envelope (hash) -> every blob it names, over and over.
    const reader = new Worker(
      `
      const { parentPort, workerData } = require("node:worker_threads");
      const { readFileSync } = require("node:fs");
      const { createHash } = require("node:crypto");
      const { join } = require("node:path");
      const sha = (b) => createHash("sha256").update(b).digest("hex");
      let failures = [];
      const shared = new Int32Array(workerData.shared);
      while (Atomics.load(shared, 0) === 0) {
        try {
          const text = readFileSync(join(workerData.root, "channels/stable.json"), "utf8");
          const pointer = JSON.parse(text).signed;
          const envelope = readFileSync(join(workerData.root, pointer.release));
          if (sha(envelope) !== pointer.sha256) throw new Error("envelope does not match its pointer");
          for (const f of JSON.parse(envelope).signed.files) readFileSync(join(workerData.root, "blobs", f.sha256 + ".z"));
          Atomics.add(shared, 1, 1);
        } catch (err) { failures.push(String(err)); }
      }
      parentPort.postMessage({ failures: failures.slice(0, 3), failed: failures.length });
      `,
      { eval: true, workerData: { root: paths.root, shared: shared.buffer } },
    );
    const done = new Promise<{ failed: number; failures: string[] }>((resolve) =>
      reader.once("message", resolve),
    );
    // Each publish starts once the reader has completed a check since the last one (a busy machine
    // may start the worker late), so reads and writes really interleave.
    const readerMoved = async (since: number) => {
      while (Atomics.load(shared, 1) <= since) await new Promise((r) => setTimeout(r, 2));
    };
    for (const v of versions.slice(1)) {
      await readerMoved(Atomics.load(shared, 1));
      publishStatic({ site, store, project: "greenhouse", version: v, channel: "stable" });
    }
    await readerMoved(Atomics.load(shared, 1));
    Atomics.store(shared, 0, 1);
    const result = await done;
    expect(result.failures).toEqual([]);
    expect(Atomics.load(shared, 1)).toBeGreaterThanOrEqual(versions.length);
  });

  it("refuses to move a channel back to an older release unless it is a signed rollback", async () => {
    const store = openStore(temp("store"));
    await release(store, "1.0.0", { "main.py": "1" });
    await release(store, "1.2.0", { "main.py": "2" });
    await release(store, "1.1.0", { "main.py": "1" }, ["1.2.0"]);
    await release(store, "1.0.1", { "main.py": "1" }, ["1.3.0"]);
    const site = temp("site");
    publishStatic({ site, store, project: "greenhouse", version: "1.2.0", channel: "stable" });
    expect(() =>
      publishStatic({ site, store, project: "greenhouse", version: "1.0.0", channel: "stable" }),
    ).toThrow(
      "channel stable is at 1.2.0; 1.0.0 is older and not a rollback release, so devices would refuse it (build it with --rollback)",
    );
    expect(() =>
      publishStatic({ site, store, project: "greenhouse", version: "1.0.1", channel: "stable" }),
    ).toThrow(
      "channel stable is at 1.2.0; 1.0.1 is a rollback release from 1.3.0 only, so devices on 1.2.0 would refuse it (build it with --rollback-from 1.2.0)",
    );
    const rolled = publishStatic({ site, store, project: "greenhouse", version: "1.1.0", channel: "stable" });
    expect(rolled.previous).toBe("1.2.0");
    expect(
      parseReleaseEnvelope(readFileSync(sitePaths(site, "greenhouse").release("1.1.0"))).signed.rollback,
    ).toBe(true);
  });

  it("never publishes a damaged blob, and leaves the channel as it was", async () => {
    const store = openStore(temp("store"));
    await release(store, "1.0.0", { "main.py": "1" });
    const built = await release(store, "1.1.0", { "main.py": "2", "x.py": "x" });
    const site = temp("site");
    publishStatic({ site, store, project: "greenhouse", version: "1.0.0", channel: "stable" });
    const victim = built.envelope.signed.files[1]!;
    writeFileSync(store.blobPath(victim.sha256), compressBlob(Buffer.from("evil")));
    expect(() =>
      publishStatic({ site, store, project: "greenhouse", version: "1.1.0", channel: "stable" }),
    ).toThrow(`blob ${victim.sha256} is damaged`);
    const paths = sitePaths(site, "greenhouse");
    expect(parsePointerEnvelope(readFileSync(paths.channel("stable"))).signed.version).toBe("1.0.0");
    expect(readdirSync(join(paths.root, "releases"))).toEqual(["1.0.0.json"]);
    expect(() =>
      publishStatic({ site, store, project: "greenhouse", version: "9.0.0", channel: "stable" }),
    ).toThrow("release greenhouse 9.0.0 is not in the store");
  });

  it("refuses to replace a different envelope already published under the same version", async () => {
    const store = openStore(temp("store"));
    await release(store, "1.0.0", { "main.py": "1" });
    const site = temp("site");
    const paths = sitePaths(site, "greenhouse");
    mkdirSync(join(paths.root, "releases"), { recursive: true });
    writeFileSync(paths.release("1.0.0"), "{}");
    expect(() =>
      publishStatic({ site, store, project: "greenhouse", version: "1.0.0", channel: "stable" }),
    ).toThrow("holds a different release 1.0.0; published versions are immutable");
  });
});

describe("parseExpiry", () => {
  it("reads durations and UTC times", () => {
    const now = new Date("2026-11-23T06:00:00Z");
    expect(parseExpiry("30d", now)?.toISOString()).toBe("2026-12-23T06:00:00.000Z");
    expect(parseExpiry("12h", now)?.toISOString()).toBe("2026-11-23T18:00:00.000Z");
    expect(parseExpiry("90m", now)?.toISOString()).toBe("2026-11-23T07:30:00.000Z");
    expect(parseExpiry("2027-01-01")?.toISOString()).toBe("2027-01-01T00:00:00.000Z");
    expect(parseExpiry("2027-01-01T10:00Z")?.toISOString()).toBe("2027-01-01T10:00:00.000Z");
    for (const bad of ["soon", "30", "2027-13-01", "-1d", "2027-01-01T10:00"])
      expect(parseExpiry(bad), bad).toBe(undefined);
  });
});
