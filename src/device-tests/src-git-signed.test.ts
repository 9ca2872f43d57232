/**
 * Signed releases from GitHub and Gitea: a board with keys installs the release whose manifest.json
 * asset (an envelope from `mpota release`, built here from the git tag) verifies, fetching the tag's
 * files from the repository and checking each against the manifest's sha256.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { printed, runCommand, sameTree, slotTree } from "../../testing/board.ts";
import { gitApp, gitBoard, treeAt } from "../../testing/git-board.ts";
import type { Emulator, EmulatorOptions, ReleaseSpec } from "../../testing/git-hosts/emulator.ts";
import { createRepo, type GitRepo } from "../../testing/git-hosts/git-repo.ts";
import { startGitea } from "../../testing/git-hosts/gitea.ts";
import { startGitHub } from "../../testing/git-hosts/github.ts";
import { currentState } from "../client/state-record.ts";
import { generateKeyPair } from "../manifest/index.ts";
import { buildRelease } from "../release/index.ts";
import { VirtualDevice } from "../sim/index.ts";
import { openStore } from "../store/index.ts";

const key = generateKeyPair();
const stranger = generateKeyPair();
const TOKEN = "release-reader-token";

const devices: VirtualDevice[] = [];
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
});

const providers = [
  { type: "github", start: (o: EmulatorOptions) => startGitHub(o) },
  { type: "gitea", start: startGitea },
] as const;

describe.each(providers)("signed $type releases", (provider) => {
  let repo: GitRepo;
  let emulator: Emulator;
  const releases: ReleaseSpec[] = [];
  const envelopes: Record<string, Buffer> = {};

  beforeAll(async () => {
    repo = createRepo();
    const store = openStore(mkdtempSync(join(tmpdir(), "mpota-signed-store-")));
    const t1 = gitApp("1.0.0", { "lib/sensors/temp.py": "OFFSET = 1\n" });
    repo.commitTree(t1, "1.0.0");
    repo.tag("v1.0.0");
    repo.commitTree({ ...t1, ...gitApp("1.1.0", { "lib/sensors/temp.py": "OFFSET = 2\n" }) }, "1.1.0");
    repo.tag("v1.1.0");
    for (const version of ["1.0.0", "1.1.0"]) {
      const built = await buildRelease({
        gitRef: `v${version}`,
        repo: repo.dir,
        project: "greenhouse",
        version,
        key,
        store,
      });
      envelopes[version] = built.bytes;
    }
    const foreign = openStore(mkdtempSync(join(tmpdir(), "mpota-signed-foreign-")));
    const forged = await buildRelease({
      gitRef: "v1.1.0",
      repo: repo.dir,
      project: "greenhouse",
      version: "1.1.0",
      key: stranger,
      store: foreign,
    });
    releases.push({ tag: "v1.0.0", assets: { "manifest.json": envelopes["1.0.0"]! } });
    releases.push({ tag: "v1.1.0", assets: { "manifest.json": envelopes["1.1.0"]! } });
    emulator = await provider.start({
      repos: {
        "acme/app": { repo, releases },
        "acme/forged": { repo, releases: [{ tag: "v1.1.0", assets: { "manifest.json": forged.bytes } }] },
        "acme/bare": { repo, releases: [{ tag: "v1.1.0" }] },
        "acme/private": { repo, private: true, releases },
      },
      tokens: [TOKEN],
    });
  });
  afterAll(async () => {
    await emulator.close();
    repo.close();
  });

  const board = (name: string, extra: Record<string, unknown> = {}) => {
    const config = {
      project: "greenhouse",
      keys: [key.publicKeyHex],
      reset_mode: "none",
      source: { type: provider.type, api: emulator.api, repo: name, ...extra },
    };
    // The board runs 1.0.0 as installed from that release (its envelope kept beside the slot).
    const files = {
      ...gitBoard(treeAt(repo, "v1.0.0"), "1.0.0", config),
      ".mpota/slot0.json": envelopes["1.0.0"]!,
    };
    const device = new VirtualDevice({ files });
    devices.push(device);
    return device;
  };

  it("installs the latest release: manifest verified, the tag's files checked by sha256, the rest copied", async () => {
    const device = board("acme/app");
    const quiet = await runCommand(device, "check");
    expect(printed(quiet.output, "check")).toEqual({ ok: true, version: "1.0.0", available: "1.1.0" });
    const n = emulator.requests.length;
    const run = await runCommand(device, "update");
    expect(printed(run.output, "update")).toMatchObject({ ok: true, version: "1.0.0", installed: "1.1.0" });
    const files = device.files();
    expect(currentState(files)).toMatchObject({ slot: 1, state: "trial", versions: ["1.0.0", "1.1.0"] });
    expect(sameTree(slotTree(files, 1), treeAt(repo, "v1.1.0"))).toBe(true);
    // Only the two changed files were downloaded; the rest were copied on the board.
    const downloads = emulator.requests
      .slice(n)
      .filter(
        (r) =>
          /\/raw\//.test(r.url) ||
          (r.host === "raw" && !r.url.includes("release-assets") && !r.url.includes("attachments")),
      );
    expect(downloads.map((r) => r.url.replace(/.*\//, "")).sort()).toEqual(
      provider.type === "github"
        ? ["main.py", "main.py", "temp.py", "temp.py"]
        : ["main.py?ref=v1.1.0", "temp.py?ref=v1.1.0"],
    );
  });

  it("a private repository: the token reads the release and its asset, the storage host never sees it", async () => {
    const device = board("acme/private", { token: TOKEN, tag: "v1.1.0" });
    const n = emulator.requests.length;
    const run = await runCommand(device, "update");
    expect(printed(run.output, "update")).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(emulator.requests.slice(n).filter((r) => r.host === "raw" && r.authorized)).toEqual([]);
  });

  it("refuses a manifest signed by another key, and a release without one", async () => {
    for (const [name, code] of [
      ["acme/forged", /signature|key/],
      ["acme/bare", /manifest\.json/],
    ] as const) {
      const device = board(name);
      const run = await runCommand(device, "update");
      const result = printed(run.output, "update");
      expect(result.ok, name).toBe(false);
      expect(`${result.error.code} ${result.error.message}`).toMatch(code);
      expect(currentState(device.files())).toMatchObject({ slot: 0, versions: ["1.0.0", null] });
    }
  });
});
