/**
 * The power-cut matrix (testing/powercut.ts) extended to patched files: an update whose changed
 * files (and the envelope) come as patches of both encodings, one download each, and the same update
 * in one update pack (split into TMP, then applied), and in the pack a check answer brings (kept in
 * /.mpota/next, then split), with the power cut before every flash operation, in both durability models. Every run must end with the board running exactly the old or the new release,
 * each slot the state record names intact byte for byte.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bundledBoard,
  devicePackage,
  makeSigningKey,
  type StaticServer,
  serveStatic,
  testApp,
} from "../../testing/board.ts";
import { editModule, pythonModule, randomData, seededRng } from "../../testing/delta-corpus.ts";
import { writeSitePack } from "../../testing/pack.ts";
import { type CutScenario, cutMatrix } from "../../testing/powercut.ts";
import { scaled } from "../../testing/sim.ts";
import { decodePack } from "../delta/index.ts";
import { makeEnvelopePatch, makeReleasePatches } from "../delta/release.ts";
import { buildRelease } from "../release/index.ts";
import { publishStatic } from "../static/index.ts";
import { openStore } from "../store/index.ts";

const PROJECT = "greenhouse";
const PACKED = "greenhouse-packed"; // the same releases, with an update pack from 1.0.0 to 1.1.0
const ANSWERED = "greenhouse-answered"; // the same again, the pack in the channel's check answer
const work = mkdtempSync(join(tmpdir(), "mpota-delta-cut-"));
let server: StaticServer;
let scenario: CutScenario;
let packed: CutScenario;
let answered: CutScenario;

/** The app without the mpota package: the board has it in /lib (as if frozen), so the matrix stays small. */
function app(version: string, extra: Record<string, Uint8Array | string>): Record<string, Uint8Array> {
  return Object.fromEntries(
    Object.entries(testApp(version, extra)).filter(([p]) => !p.startsWith("lib/mpota/")),
  );
}

beforeAll(async () => {
  server = await serveStatic(join(work, "site"));
  const rng = seededRng(5);
  const text = pythonModule(rng, 30); // > one 4 KB buffer
  const table = randomData(rng, 6000);
  const v100 = app("1.0.0", { "lib/text.py": text, "data/table.bin": table });
  const v110 = app("1.1.0", {
    "lib/text.py": editModule(rng, text, "insert"), // a Fossil patch
    "data/table.bin": table.map((b, i) => (i % 40 === 0 ? b + 1 : b)), // a bsdiff-seq patch
  });
  const key = makeSigningKey();
  const store = openStore(join(work, "store"));
  for (const [version, tree] of Object.entries({ "1.0.0": v100, "1.1.0": v110 })) {
    for (const [path, data] of Object.entries(tree)) {
      mkdirSync(dirname(join(work, version, path)), { recursive: true });
      writeFileSync(join(work, version, path), data);
    }
    await buildRelease({ dir: join(work, version), project: PACKED, version, key, store });
    publishStatic({ site: join(work, "site"), store, project: PACKED, version, channel: "stable" });
    await buildRelease({ dir: join(work, version), project: ANSWERED, version, key, store });
    if (version === "1.1.0") {
      // the envelope on the site first (another channel), the pack, then the channel moves from 1.0.0
      publishStatic({ site: join(work, "site"), store, project: ANSWERED, version, channel: "staging" });
      writeSitePack(join(work, "site"), ANSWERED, "1.0.0", "1.1.0");
    }
    publishStatic({ site: join(work, "site"), store, project: ANSWERED, version, channel: "stable" });
    const built = await buildRelease({
      dir: join(work, version),
      project: PROJECT,
      version,
      key,
      store,
      makePatches: makeReleasePatches,
      signedPatches: true, // the files come as signed per-file patches (--signed-patches)
      makeEnvelopePatch, // the envelope comes as a patch too: cuts while it is rebuilt
    });
    if (version === "1.1.0") {
      const encodings = built.envelope.signed.files
        .flatMap((f) => f.blobs.patches ?? [])
        .map((p) => p.encoding);
      expect(encodings).toHaveLength(3); // main.py, lib/text.py, data/table.bin: both encodings among them
      expect(new Set(encodings)).toEqual(new Set(["bsdiff-seq", "fossil"]));
    }
    publishStatic({ site: join(work, "site"), store, project: PROJECT, version, channel: "stable" });
  }
  const pack = writeSitePack(join(work, "site"), PACKED, "1.0.0", "1.1.0");
  expect(new Set(decodePack(pack.bytes).map((r) => r.kind))).toEqual(new Set(["e", "f", "b"]));
  const cutScenario = (name: string, project: string): CutScenario => {
    const config = {
      project,
      keys: [key.publicHex],
      source: { type: "static", url: server.url, channel: "stable" },
    };
    const board = bundledBoard(join(work, "site"), config, "1.0.0");
    return {
      name,
      files: {
        ...Object.fromEntries(
          Object.entries(board).filter(([p]) => !p.startsWith(".mpota/slot0/lib/mpota/")),
        ),
        ...devicePackage(),
        "data/cmd": "update",
      },
      releases: { "1.0.0": v100, "1.1.0": v110 },
      allowed: ["1.0.0", "1.1.0"],
    };
  };
  scenario = cutScenario("patched update", PROJECT);
  packed = cutScenario("update from a pack", PACKED);
  answered = cutScenario("update from the pack of a check answer", ANSWERED);
});

afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

describe("power cuts during a patched install", () => {
  it.each(["torn", "commit-on-close"] as const)(
    "%s flash: the board runs 1.0.0 or 1.1.0, intact",
    async (model) => {
      const { cutPoints, failures } = await cutMatrix(scenario, model, { concurrency: 2 });
      expect(cutPoints).toBeGreaterThan(20);
      expect(failures).toEqual([]);
      expect(server.requests.filter((p) => p.includes("/patches/")).length).toBeGreaterThan(cutPoints / 2);
    },
    scaled(240_000), // as the client's matrix: an update loads its modules per phase, on a busy machine too
  );
});

describe("power cuts during an update from the pack a check answer brings", () => {
  it.each(["torn", "commit-on-close"] as const)(
    "%s flash: the board runs 1.0.0 or 1.1.0, intact",
    async (model) => {
      server.requests.length = 0;
      const { cutPoints, failures } = await cutMatrix(answered, model, { concurrency: 2 });
      expect(cutPoints).toBeGreaterThan(20);
      expect(failures).toEqual([]);
      // the runs took the pack from the answer (a run cut while writing it asks again, or falls back)
      const asked = server.requests.filter((p) => p.startsWith(`/${ANSWERED}/`));
      expect(asked.filter((p) => p.endsWith("/channels/stable.up")).length).toBeGreaterThan(cutPoints / 2);
      expect(asked.filter((p) => p.includes("/packs/")).length).toBeLessThan(cutPoints / 4);
    },
    scaled(240_000),
  );
});

describe("power cuts during an update from an update pack", () => {
  it.each(["torn", "commit-on-close"] as const)(
    "%s flash: the board runs 1.0.0 or 1.1.0, intact",
    async (model) => {
      server.requests.length = 0;
      const { cutPoints, failures } = await cutMatrix(packed, model, { concurrency: 2 });
      expect(cutPoints).toBeGreaterThan(20);
      expect(failures).toEqual([]);
      // every run that got that far took the pack; none downloaded a file or a patch of its own
      expect(server.requests.filter((p) => p.includes("/packs/")).length).toBeGreaterThan(cutPoints / 2);
      expect(
        server.requests.filter((p) => p.includes(`/${PACKED}/blobs/`) || p.includes(`/${PACKED}/patches/`)),
      ).toEqual([]);
    },
    scaled(240_000),
  );
});
