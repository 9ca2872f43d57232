/**
 * Attacks by a malicious server (DESIGN.md §5): a board running 1.0.0 asks a hostile static site for
 * an update. Every attack is refused before the new slot is made active: the state record does not
 * change, the running slot keeps its files byte for byte, and the next boot runs 1.0.0.
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildRelease,
  faultFixture,
  makeSigningKey,
  printed,
  runCommand,
  sameTree,
  slotTree,
  testApp,
} from "../../testing/board.ts";
import type { Fault } from "../../testing/fault-proxy.ts";
import { packPath, writeSitePack } from "../../testing/pack.ts";
import { currentState } from "../client/state-record.ts";
import { type DecodedRecord, decodePack, encodePack, makeEnvelopePatch, makePatch } from "../delta/index.ts";
import { envelopeBytes, sha256Hex, signEnvelope } from "../manifest/index.ts";
import { VirtualDevice } from "../sim/index.ts";

const fixture = faultFixture();
const { project: PROJECT, site, paths, channelPath, releasePath, release } = fixture;
const stranger = makeSigningKey();

const v100 = testApp("1.0.0");
/** A release with its own content (so its blobs are its own to tamper with). */
const app = (version: string, extra: Record<string, string | Uint8Array> = {}) =>
  testApp(version, { "data.bin": randomBytes(4000), ...extra });

/** The manifest entry of `path` in a release envelope on disk. */
function entryOf(version: string, path: string): { sha256: string; size: number; blobs: { zlib: number } } {
  const signed = JSON.parse(readFileSync(paths.release(version), "utf8")).signed;
  return signed.files.find((f: { path: string }) => f.path === path);
}

function editEnvelope(version: string, edit: (text: string) => string) {
  writeFileSync(paths.release(version), edit(readFileSync(paths.release(version), "utf8")));
}

interface Attack {
  name: string;
  /** Prepares the site; the channel named after the attack points at `version` afterwards. */
  prepare: (version: string) => void;
  /** Faults the server applies during the update. */
  faults?: (version: string) => Array<{ path: string; fault: Fault; times?: number }>;
  code: string;
  message: RegExp;
}

const attacks: Attack[] = [
  {
    name: "unsigned",
    prepare: (v) => {
      release(v, app(v));
      editEnvelope(v, (t) => t.replace(/^\{"signatures":\[.*\],"signed":\n/, '{"signatures":[],"signed":\n'));
    },
    code: "signature",
    message: /^the release is not signed$/,
  },
  {
    name: "wrong-key",
    prepare: (v) => buildRelease(site, PROJECT, v, app(v), stranger),
    code: "signature",
    message: /which this board does not trust$/,
  },
  {
    name: "tampered-manifest",
    prepare: (v) => {
      release(v, app(v, { "evil.py": "print('hi')\n" }));
      // Point the manifest's entry for main.py at another file's content.
      const evil = entryOf(v, "evil.py");
      editEnvelope(v, (t) => t.replace(entryOf(v, "main.py").sha256, evil.sha256));
    },
    code: "signature",
    message: /the signature does not match/,
  },
  {
    name: "tampered-blob",
    prepare: (v) => {
      release(v, app(v));
      const e = entryOf(v, "main.py");
      writeFileSync(
        paths.blob(e.sha256),
        deflateSync("import machine\nmachine.reset()\n", { windowBits: 10 }),
      );
    },
    code: "sha256",
    message: /^main\.py: the file from the download does not match the manifest/,
  },
  {
    name: "older-version",
    prepare: (v) => release(v, app(v)),
    code: "version",
    message: /is older than the running 1\.0\.0 and not a signed rollback release$/,
  },
  {
    name: "other-project",
    prepare: (v) => {
      const other = join(site, "lighthouse");
      buildRelease(site, "lighthouse", v, app(v), fixture.key);
      writeFileSync(paths.release(v), readFileSync(join(other, "releases", `${v}.json`)));
    },
    code: "project",
    message: /^the release is for project lighthouse, this board runs greenhouse$/,
  },
  {
    name: "path-traversal",
    prepare: (v) => release(v, app(v, { "../../boot.py": "print('owned')\n" })),
    code: "manifest",
    message: /^bad file path \.\.\/\.\.\/boot\.py$/,
  },
  {
    name: "absolute-path",
    prepare: (v) => release(v, app(v, { "/ota_config.json": "{}" })),
    code: "manifest",
    message: /^bad file path \/ota_config\.json$/,
  },
  {
    name: "case-collision",
    prepare: (v) => release(v, app(v, { "Main.py": "print('shadow')\n" })),
    code: "manifest",
    message: /^main\.py: another path differs from it only in case$/,
  },
  {
    name: "tampered-envelope-patch",
    // The envelope a board rebuilds from the one it runs and a patch is verified like a downloaded one.
    prepare: (v) => {
      release(v, app(v, { "evil.py": "print('hi')\n" }));
      const evil = entryOf(v, "evil.py");
      editEnvelope(v, (t) => t.replace(entryOf(v, "main.py").sha256, evil.sha256));
      const from = readFileSync(paths.release("1.0.0"));
      const to = readFileSync(paths.release(v));
      mkdirSync(join(paths.root, "patches"), { recursive: true });
      writeFileSync(paths.patch(sha256Hex(from), sha256Hex(to)), makeEnvelopePatch(from, to)!);
    },
    // The whole envelope is not there: only the patch can bring the tampered one.
    faults: (v) => [{ path: releasePath(v), fault: { kind: "status", status: 404 }, times: 9 }],
    code: "signature",
    message: /the signature does not match/,
  },
  {
    name: "tampered-pack-envelope",
    // The envelope an update pack rebuilds is verified like a downloaded one.
    prepare: (v) => {
      release(v, app(v, { "evil.py": "print('hi')\n" }));
      const evil = entryOf(v, "evil.py");
      editEnvelope(v, (t) => t.replace(entryOf(v, "main.py").sha256, evil.sha256));
      writeSitePack(site, PROJECT, "1.0.0", v);
    },
    // The whole envelope is not there: only the pack can bring the tampered one.
    faults: (v) => [{ path: releasePath(v), fault: { kind: "status", status: 404 }, times: 9 }],
    code: "signature",
    message: /the signature does not match/,
  },
  {
    name: "oversized-blob",
    prepare: (v) => {
      release(v, app(v));
      writeFileSync(paths.blob(entryOf(v, "data.bin").sha256), randomBytes(100_000));
    },
    code: "size",
    message: /where at most \d+ are expected$/,
  },
  {
    name: "zlib-bomb",
    prepare: (v) => {
      release(v, app(v));
      // ~3 KB that inflates to 3 MB: fits the declared compressed size, not the declared file size.
      const bomb = deflateSync(Buffer.alloc(3 << 20), { level: 9, windowBits: 10, memLevel: 9 });
      expect(bomb.length).toBeLessThanOrEqual(entryOf(v, "data.bin").blobs.zlib);
      writeFileSync(paths.blob(entryOf(v, "data.bin").sha256), bomb);
    },
    code: "size",
    message: /^data\.bin is larger than the 4000 bytes the manifest declares$/,
  },
  {
    name: "huge-headers",
    prepare: (v) => release(v, app(v)),
    faults: () => [{ path: channelPath("huge-headers"), fault: { kind: "hugeHeaders", bytes: 1 << 20 } }],
    code: "http",
    message: /^the response headers are larger than 8192 bytes$/,
  },
  {
    name: "endless-body",
    prepare: (v) => release(v, app(v)),
    faults: (v) => [{ path: releasePath(v), fault: { kind: "endless" } }],
    code: "size",
    message: /^the body is larger than the \d+ bytes expected$/,
  },
  {
    name: "huge-envelope-claim",
    // An unsigned pointer (anyone can write one) claiming a 1 GiB envelope: refused before downloading.
    prepare: (v) => release(v, app(v)),
    faults: (v) => [
      {
        path: channelPath("huge-envelope-claim"),
        fault: {
          kind: "body",
          body: envelopeBytes(
            signEnvelope(
              {
                channel: "huge-envelope-claim",
                project: PROJECT,
                release: `releases/${v}.json`,
                sha256: "0".repeat(64),
                size: 1 << 30,
                version: v,
              },
              [],
            ),
          ),
        },
      },
    ],
    code: "size",
    message: /^the channel pointer names a 1073741824-byte envelope; at most 2097152 are accepted$/,
  },
  {
    name: "swapped-envelope",
    // The server answers the release the pointer names with another validly signed one.
    prepare: (v) => {
      release(v, app(v));
      release("2.0.99", testApp("2.0.99")); // a smaller one: under the cap
    },
    faults: (v) => [
      { path: releasePath(v), fault: { kind: "body", body: readFileSync(paths.release("2.0.99")) } },
    ],
    code: "size",
    message: /where the channel pointer says/,
  },
];

beforeAll(async () => {
  release("1.0.0", v100);
  attacks.forEach((attack, i) => {
    const version = attack.name === "older-version" ? "0.9.1" : `2.0.${i + 1}`;
    attack.prepare(version);
    fixture.publish(attack.name, version);
  });
  await fixture.start();
});

afterAll(fixture.close);

describe("a malicious server", () => {
  it.each(attacks.map((a, i) => [a.name, a, i] as const))(
    "%s: refused, the running release keeps running",
    async (_name, attack, i) => {
      const version = attack.name === "older-version" ? "0.9.1" : `2.0.${i + 1}`;
      fixture.server.rules.length = 0;
      fixture.server.rules.push(...(attack.faults?.(version) ?? []));
      const config = fixture.config(attack.name, { timeout_s: 2, retries: 1 });
      const device = new VirtualDevice({ files: fixture.boardFiles(config, "1.0.0") });
      try {
        const before = device.files();
        const r = await runCommand(device, "update");
        const result = printed(r.output, "update");
        expect(result.ok).toBe(false);
        expect(result.error.code).toBe(attack.code);
        expect(result.error.message).toMatch(attack.message);
        expect(r.resets).toEqual([]);
        expect(currentState(device.files())).toEqual(currentState(before));
        expect(sameTree(slotTree(device.files(), 0), v100)).toBe(true);
        const next = await device.run();
        expect(next.output).toContain("running 1.0.0");
        expect(printed(next.output, "status")).toMatchObject({
          version: "1.0.0",
          last_error: { code: attack.code },
        });
      } finally {
        await device.close();
      }
    },
  );
});

/** A pack's records rewritten by `edit`, encoded again (each keeps its key unless `edit` changes it). */
function editPack(bytes: Uint8Array, edit: (r: DecodedRecord) => DecodedRecord): Buffer {
  return encodePack(
    decodePack(bytes)
      .map(edit)
      .map((r) => ({ ...r, sha256: r.key })),
  );
}

const envelopeOf = (version: string) => readFileSync(paths.release(version));
/** The pack the site holds from 1.0.0 to `version`. */
const sitePack = (version: string) =>
  readFileSync(join(site, packPath(PROJECT, envelopeOf("1.0.0"), envelopeOf(version))));

interface PackAttack {
  name: string;
  /** The hostile pack served for 1.0.0 -> `version` (the honest one is `honest`); none: the honest one. */
  pack?: (honest: Buffer, version: string) => Uint8Array;
  faults?: (packPath: string) => Array<{ path: string; fault: Fault; times?: number }>;
  /** What the board downloads after the pack: the whole envelope (the pack is dropped) or the blobs of
   * the files whose records do not make them. */
  fallback: "envelope" | "blobs";
}

const EVIL = "import machine\nmachine.reset()\n";
// Each attack's release `v` has a pack from 1.0.0; release `${v}-x` (another one) too.
const packAttacks: PackAttack[] = [
  {
    name: "tampered-pack-envelope-record",
    // A valid patch, to another release's envelope: not the one the pointer names.
    pack: (honest, v) =>
      editPack(honest, (r) =>
        r.kind === "e" ? { ...r, data: makeEnvelopePatch(envelopeOf("1.0.0"), envelopeOf(`${v}-x`))! } : r,
      ),
    fallback: "envelope",
  },
  {
    name: "tampered-pack-blob",
    pack: (honest) =>
      editPack(honest, (r) => (r.kind === "z" ? { ...r, data: deflateSync(EVIL, { windowBits: 10 }) } : r)),
    fallback: "blobs",
  },
  {
    name: "tampered-pack-patch",
    // A valid patch from the running main.py, to another file.
    pack: (honest) =>
      editPack(honest, (r) =>
        r.kind === "f" || r.kind === "b"
          ? { ...r, data: makePatch(Buffer.from(v100["main.py"]!), Buffer.from(EVIL)).bytes }
          : r,
      ),
    fallback: "blobs",
  },
  {
    name: "pack-zlib-bomb",
    // ~3 KB that inflates to 3 MB in place of a file's blob: cut at the file's declared size.
    pack: (honest) =>
      editPack(honest, (r) =>
        r.kind === "z"
          ? { ...r, data: deflateSync(Buffer.alloc(3 << 20), { level: 9, windowBits: 10, memLevel: 9 }) }
          : r,
      ),
    fallback: "blobs",
  },
  {
    name: "pack-of-another-release-pair",
    pack: (_, v) => sitePack(`${v}-x`),
    fallback: "envelope",
  },
  {
    name: "pack-garbage-kind",
    // a record of kind "x", whole and well formed
    pack: (honest) => Buffer.concat([honest, Buffer.from("x01234567\x02AB", "latin1")]),
    fallback: "envelope",
  },
  {
    name: "pack-bad-magic",
    pack: (honest) => Buffer.concat([Buffer.from("MPK2"), honest.subarray(4)]),
    fallback: "envelope",
  },
  {
    name: "pack-truncated-record",
    pack: (honest) => honest.subarray(0, honest.length - 5),
    fallback: "envelope",
  },
  {
    name: "pack-oversized",
    // Larger than half the board's free flash: refused by its Content-Length, before any byte is kept.
    faults: (path) => [{ path, fault: { kind: "body", body: Buffer.alloc(4 << 20, 0x4d) } }],
    fallback: "envelope",
  },
  {
    name: "pack-endless",
    faults: (path) => [{ path, fault: { kind: "endless" } }],
    fallback: "envelope",
  },
];
const packVersion = (i: number) => `2.1.${i + 1}`;
const packTrees: Record<string, Record<string, Uint8Array>> = {};

describe("a malicious update pack", () => {
  beforeAll(() => {
    packAttacks.forEach((attack, i) => {
      const v = packVersion(i);
      release(`${v}-x`, app(`${v}-x`), { packFrom: ["1.0.0"] });
      packTrees[v] = app(v);
      release(v, packTrees[v], { packFrom: ["1.0.0"] });
      if (attack.pack) {
        const file = join(site, packPath(PROJECT, envelopeOf("1.0.0"), envelopeOf(v)));
        writeFileSync(file, attack.pack(readFileSync(file), v));
      }
      fixture.publish(attack.name, v);
    });
  });

  it.each(packAttacks.map((a, i) => [a.name, a, i] as const))(
    "%s: only what the signed manifest names is installed",
    async (_name, attack, i) => {
      const v = packVersion(i);
      const pack = `/${packPath(PROJECT, envelopeOf("1.0.0"), envelopeOf(v))}`;
      fixture.server.rules.length = 0;
      fixture.server.requests.length = 0;
      fixture.server.rules.push(...(attack.faults?.(pack) ?? []));
      const config = fixture.config(attack.name, { timeout_s: 2, retries: 1, reset_mode: "none" });
      const device = new VirtualDevice({ files: fixture.boardFiles(config, "1.0.0") });
      try {
        const r = await runCommand(device, "update");
        expect(printed(r.output, "update")).toMatchObject({ ok: true, installed: v });
        const asked = fixture.server.requests.map((q) => q.path);
        expect(asked[1]).toBe(pack);
        if (attack.fallback === "envelope") expect(asked).toContain(releasePath(v));
        else expect(asked.some((p) => p.includes("/blobs/"))).toBe(true);
        const files = device.files();
        expect(sameTree(slotTree(files, 1), packTrees[v]!)).toBe(true);
        expect(sameTree(slotTree(files, 0), v100)).toBe(true);
        expect(Object.keys(files).filter((p) => p.startsWith(".mpota/tmp"))).toEqual([]);
      } finally {
        await device.close();
      }
    },
  );
});
