/**
 * Patched installs end to end: releases built by src/release with makeReleasePatches, published to a
 * static site by src/static, installed by the device client on the virtual device.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  printed,
  runCommand,
  sameTree,
  serveStatic,
  slotTree,
  staticFixture,
  testApp,
} from "../../testing/board.ts";
import { editModule, pythonModule, seededRng } from "../../testing/delta-corpus.ts";
import { startTestServer } from "../../testing/server.ts";
import { applyPatch } from "../delta/index.ts";
import { makeReleasePatches } from "../delta/release.ts";
import { mpySources } from "../mpy/index.ts";
import { type BuiltRelease, buildRelease } from "../release/index.ts";
import { AdminClient, publishRelease, releaseFromFolder } from "../server/admin-client.ts";
import { publishStatic, sitePaths } from "../static/index.ts";
import { openStore } from "../store/index.ts";

const fixture = staticFixture(serveStatic);
const { project: PROJECT, key, site, dir: work } = fixture;
const MPY_PROJECT = "greenhouse-mpy";
const store = openStore(join(work, "store"));

const rng = seededRng(99);
const big = pythonModule(rng, 40);
const v100 = testApp("1.0.0", { "lib/big.py": big, "lib/same.py": "SAME = 1\n" });
const v110 = testApp("1.1.0", {
  "lib/big.py": editModule(rng, big, "insert"),
  "lib/same.py": "SAME = 1\n",
  "lib/added.py": "ADDED = 1\n",
});
const v120 = testApp("1.2.0", {
  "lib/big.py": editModule(rng, big, "tweak"),
  "lib/same.py": "SAME = 1\n",
});

function release(
  version: string,
  tree: Record<string, Uint8Array>,
  project = PROJECT,
): Promise<BuiltRelease> {
  const dir = join(work, project, version);
  for (const [path, data] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
  // the mpy project ships its modules compiled (the mpota package stays source, as the loader needs it)
  const transform = project === PROJECT ? undefined : mpySources({ keepPy: ["lib/mpota/**"] });
  // signed per-file patch lists (--signed-patches): what these tests are about
  const signedPatches = true;
  return buildRelease({
    dir,
    project,
    version,
    key,
    store,
    makePatches: makeReleasePatches,
    signedPatches,
    transform,
  });
}

/** A board with `version` installed, its tree changed by `change` first; the site named with a trailing slash. */
function board(
  version: string,
  change: (tree: Record<string, Uint8Array | string>) => void = () => {},
  project = PROJECT,
) {
  const config = fixture.config("stable", {
    project,
    source: { url: `${fixture.server.url}/` },
    reset_mode: "none",
  });
  const tree = fixture.boardFiles(config, version);
  change(tree);
  return fixture.board(tree);
}
const fileEntry = (built: BuiltRelease, path: string) =>
  built.envelope.signed.files.find((f) => f.path === path)!;

let built: Record<string, BuiltRelease> = {};

beforeAll(async () => {
  await fixture.start();
  built = { "1.0.0": await release("1.0.0", v100), "1.1.0": await release("1.1.0", v110) };
  built["1.2.0"] = await release("1.2.0", v120);
  publishStatic({ site, store, project: PROJECT, version: "1.0.0", channel: "stable" });
  publishStatic({ site, store, project: PROJECT, version: "1.1.0", channel: "stable" });
  for (const [version, tree] of Object.entries({ "1.0.0": v100, "1.1.0": v110 })) {
    built[`mpy ${version}`] = await release(version, tree, MPY_PROJECT);
    publishStatic({ site, store, project: MPY_PROJECT, version, channel: "stable" });
  }
});

afterEach(async () => {
  await fixture.closeBoards();
  fixture.server.requests.length = 0;
});

afterAll(fixture.close);

describe("makeReleasePatches", () => {
  it("patches each changed file from each earlier release, smaller than its blob, and each applies", () => {
    expect(built["1.0.0"]!.patches).toBe(0);
    const bigEntry = fileEntry(built["1.2.0"]!, "lib/big.py");
    const bases = [fileEntry(built["1.1.0"]!, "lib/big.py"), fileEntry(built["1.0.0"]!, "lib/big.py")];
    expect(bigEntry.blobs.patches?.map((p) => p.from_sha256)).toEqual(bases.map((b) => b.sha256));
    for (const [i, p] of (bigEntry.blobs.patches ?? []).entries()) {
      expect(p.encoding).toBe("fossil");
      expect(p.size).toBeLessThan(bigEntry.blobs.zlib / 5);
      const data = store.readPatch(p.from_sha256, bigEntry.sha256);
      const base = store.readFile(p.from_sha256, bases[i]!.size);
      expect(applyPatch(base, data, p.encoding, bigEntry).length).toBe(bigEntry.size);
    }
    // unchanged and added files have no patch
    expect(fileEntry(built["1.1.0"]!, "lib/same.py").blobs.patches ?? []).toEqual([]);
    expect(fileEntry(built["1.1.0"]!, "lib/added.py").blobs.patches ?? []).toEqual([]);
  });
});

describe("a patched install on the device", () => {
  it("downloads patches instead of blobs for changed files and says so in the update result", async () => {
    const device = board("1.0.0");
    const r = await runCommand(device, "update");
    expect(r.ok, r.output).toBe(true);
    expect(printed(r.output, "update")).toMatchObject({
      ok: true,
      installed: "1.1.0",
      files: { patched: 2, downloaded: 1, patch_failed: 0, patch_error: null },
    });
    expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
    const fetched = fixture.server.requests.filter((p) => p.includes("/blobs/") || p.includes("/patches/"));
    // main.py and lib/big.py, and the envelope's (none here: these releases are made without, so 404)
    const envelopePatch = `-${built["1.1.0"]!.sha256}.fz`;
    expect(fetched.filter((p) => p.includes("/patches/") && !p.endsWith(envelopePatch))).toHaveLength(2);
    expect(fetched.filter((p) => p.endsWith(envelopePatch))).toHaveLength(1);
    expect(fetched.filter((p) => p.includes("/blobs/"))).toEqual([
      `/${PROJECT}/blobs/${fileEntry(built["1.1.0"]!, "lib/added.py").sha256}.z`,
    ]);
  });

  it("falls back to the whole blob when the running file is not the patch's base, and reports it", async () => {
    // the board's copy of lib/big.py differs from what its manifest says (changed by hand)
    const device = board("1.0.0", (tree) => {
      tree[".mpota/slot0/lib/big.py"] = big.replace("import time", "import utime"); // a region the patch copies
    });
    const r = await runCommand(device, "update");
    const result = printed(r.output, "update");
    expect(result).toMatchObject({ ok: true, installed: "1.1.0", files: { patched: 1, patch_failed: 1 } });
    expect(result.files.patch_error).toMatch(
      /^lib\/big\.py: the patch does not apply: the result has sha256/,
    );
    expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
  });

  it("does the same from mpota serve, which hears of an install only when a patch fell back", async () => {
    const served = await startTestServer("sqlite");
    try {
      await served.app.listen({ port: 0, host: "127.0.0.1" });
      const url = `http://127.0.0.1:${(served.app.server.address() as { port: number }).port}`;
      const admin = new AdminClient(url, served.adminToken);
      await admin.request("POST", "/projects", { name: PROJECT });
      await admin.request("POST", `/projects/${PROJECT}/keys`, { publicKey: key.publicHex });
      for (const version of ["1.0.0", "1.1.0"])
        await publishRelease(admin, await releaseFromFolder(site, PROJECT, version), { project: PROJECT });
      await admin.request("PUT", `/projects/${PROJECT}/channels/stable`, { version: "1.1.0" });
      const { token } = await admin.request<{ token: string }>("POST", `/projects/${PROJECT}/devices`, {
        id: "dev-1",
      });
      const boardConfig = fixture.config("stable", {
        source: { type: "server", url, device_id: "dev-1", token },
        reset_mode: "none",
      });
      const device = fixture.board(fixture.boardFiles(boardConfig, "1.0.0"));
      const r = await runCommand(device, "update");
      expect(printed(r.output, "update")).toMatchObject({
        ok: true,
        installed: "1.1.0",
        files: { patched: 2, downloaded: 1, patch_failed: 0 },
      });
      expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
      // A patch that falls back is the one install the board reports (with why); the others the server
      // learns from the download and the next check-in.
      const second = await admin.request<{ token: string }>("POST", `/projects/${PROJECT}/devices`, {
        id: "dev-2",
      });
      const files = fixture.boardFiles(
        fixture.config("stable", {
          source: { type: "server", url, device_id: "dev-2", token: second.token },
          reset_mode: "none",
        }),
        "1.0.0",
      );
      files[".mpota/slot0/lib/big.py"] = big.replace("import time", "import utime"); // not the patch's base
      const fell = await runCommand(fixture.board(files), "update");
      expect(printed(fell.output, "update")).toMatchObject({ ok: true, files: { patch_failed: 1 } });
      await served.flush();
      const events = (
        await admin.request<{ events: Array<{ event: string; error: string | null }> }>(
          "GET",
          `/projects/${PROJECT}/devices/dev-2`,
        )
      ).events;
      expect(events.filter((e) => e.event === "installed")).toEqual([
        expect.objectContaining({
          error: expect.stringMatching(/^a patch fell back to the whole file: lib\/big\.py: /),
        }),
      ]);
      const first = (
        await admin.request<{ events: Array<{ event: string }> }>("GET", `/projects/${PROJECT}/devices/dev-1`)
      ).events;
      expect(first.map((e) => e.event)).not.toContain("installed");
    } finally {
      await served.close();
    }
  });

  it("falls back to the whole blob when a patch is missing or damaged on the server", async () => {
    const paths = sitePaths(site, PROJECT);
    const bigOld = fileEntry(built["1.0.0"]!, "lib/big.py").sha256;
    const bigNew = fileEntry(built["1.1.0"]!, "lib/big.py").sha256;
    const main = (v: string) => fileEntry(built[v]!, "main.py").sha256;
    const damaged = readFileSync(paths.patch(bigOld, bigNew));
    damaged[damaged.length - 3]! ^= 0xff;
    writeFileSync(paths.patch(bigOld, bigNew), damaged);
    rmSync(paths.patch(main("1.0.0"), main("1.1.0")));
    const device = board("1.0.0");
    const r = await runCommand(device, "update");
    const result = printed(r.output, "update");
    expect(result).toMatchObject({
      ok: true,
      installed: "1.1.0",
      files: { patched: 0, patch_failed: 2, downloaded: 3 },
    });
    expect(result.files.patch_error).toMatch(/HTTP 404/);
    expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
    expect(device.files()[".mpota/tmp/"] ?? device.files()[".mpota/tmp"]).toBeUndefined();
  });
});

describe("a patched install of a precompiled (.mpy) release", () => {
  it("patches the compiled modules (bsdiff-seq where it is smaller) and runs them", async () => {
    const entry = fileEntry(built["mpy 1.1.0"]!, "lib/big.mpy");
    expect(entry.blobs.patches?.map((p) => p.encoding)).toEqual(["bsdiff-seq"]);
    const device = board("1.0.0", () => {}, MPY_PROJECT);
    const r = await runCommand(device, "update");
    expect(printed(r.output, "update")).toMatchObject({
      ok: true,
      installed: "1.1.0",
      files: { patched: 2, downloaded: 1, patch_failed: 0 },
    });
    const slot = slotTree(device.files(), 1);
    const mpy = built["mpy 1.1.0"]!.envelope.signed.files;
    expect(Object.keys(slot).sort()).toEqual(mpy.map((f) => f.path).sort());
    expect(Buffer.from(slot["lib/big.mpy"]!)).toEqual(store.readFile(entry.sha256, entry.size));
    const run = await device.run({
      boot: false,
      script:
        "import sys\nsys.path.insert(0, '/.mpota/slot1/lib')\nimport big, added\nprint('ok', added.ADDED)",
    });
    expect(run.output).toContain("ok 1");
  });
});
