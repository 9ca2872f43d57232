/**
 * Git sources on virtual boards, beyond a branch tip: rate limits, releases and tags, subdir / paths /
 * allow / ignore, the mpota package carried over, paged and folder-by-folder trees, a second update
 * that downloads only what changed, and power cuts during an install.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { devicePackage, printed, runCommand, sameTree, slotTree } from "../../testing/board.ts";
import { gitApp, gitAppMain, gitBoard, spreadCuts, treeAt } from "../../testing/git-board.ts";
import type { Emulator } from "../../testing/git-hosts/emulator.ts";
import { createRepo, type GitRepo } from "../../testing/git-hosts/git-repo.ts";
import { startGitea, startGogs } from "../../testing/git-hosts/gitea.ts";
import { type GitHubEmulator, startGitHub } from "../../testing/git-hosts/github.ts";
import { deviceTracker, scaled } from "../../testing/sim.ts";
import { currentState } from "../client/state-record.ts";

const boards = deviceTracker();
const board = (files: Record<string, Uint8Array | string>, sleepScale = 0) =>
  boards.device({ files, sleepScale });
afterEach(boards.closeAll);

let repo: GitRepo;
let c1: string;
let c2: string;
let gh: GitHubEmulator;
// Without the mpota package (gitBoard puts it in /lib, as if frozen): an install checks every file it
// fetches by its Git blob SHA-1 in pure Python, slow on the interpreter, so the trees stay small.
const t1 = gitApp(
  "c1",
  { "lib/sensors/temp.py": "OFFSET = 1\n", "web/index.html": "<p>1</p>\n".repeat(50) },
  false,
);
const t2 = { ...t1, ...gitApp("c2", { "lib/sensors/temp.py": "OFFSET = 2\n" }, false) };

beforeAll(async () => {
  repo = createRepo();
  c1 = repo.commitTree(t1, "c1");
  repo.tag("v1.0.0");
  c2 = repo.commitTree(t2, "c2");
  repo.tag("v2.0.0");
  gh = await startGitHub({
    repos: {
      "acme/app": {
        repo,
        releases: [{ tag: "v1.0.0" }, { tag: "v2.0.0" }, { tag: "v3.0.0-rc.1", prerelease: true }],
      },
    },
    rateLimit: { anonymous: 1000, authenticated: 5000, windowS: 3 },
  });
});
afterAll(async () => {
  await gh.close();
  repo.close();
});

const config = (source: Record<string, unknown>) => ({
  project: "greenhouse",
  keys: [],
  reset_mode: "none",
  source: { type: "github", api: gh.api, repo: "acme/app", ...source },
});
const since = (n: number) => gh.requests.slice(n);

describe("GitHub rate limit", () => {
  it("waits out a limit that resets soon, says so, and goes on", async () => {
    const device = board(gitBoard(treeAt(repo, c1), c1, config({ branch: "main" })), 1);
    await device.run({ boot: false, script: 'open("/data/cmd", "w").write("check")' });
    gh.setRemaining("anonymous", 0); // the window resets 3 s from now
    const n = gh.requests.length;
    const run = await device.run({ maxReboots: 0 });
    expect(run.output).toMatch(/the API rate limit is spent; waiting \d+ s until it resets/);
    expect(printed(run.output, "check")).toEqual({ ok: true, version: c1, available: c2 });
    expect(since(n).map((r) => r.status)).toEqual([403, 200]);
  });

  it("refuses every request until a far reset, without asking the API again", async () => {
    const slot = {
      ...treeAt(repo, c1),
      "main.py": 'import mpota, json\nfor i in range(3):\n    print("check", json.dumps(mpota.check()))\n',
    };
    const device = board(gitBoard(slot, c1, config({ branch: "main" })));
    const spent = await startGitHub({
      repos: { "acme/app": { repo } },
      rateLimit: { anonymous: 60, authenticated: 5000, windowS: 3600 },
    });
    try {
      spent.setRemaining("anonymous", 0);
      await device.run({
        boot: false,
        script: `open("/ota_config.json", "w").write(${JSON.stringify(JSON.stringify({ ...config({ branch: "main" }), source: { type: "github", api: spent.api, repo: "acme/app", branch: "main" } }))})`,
      });
      const run = await device.run({ maxReboots: 0 });
      const results = run.output
        .split("\n")
        .filter((l) => l.startsWith("check "))
        .map((l) => JSON.parse(l.slice(6)));
      expect(results).toHaveLength(3);
      for (const r of results) {
        expect(r.error.code).toBe("rate_limit");
        expect(r.error.message).toMatch(/resets in \d{3,4} s/);
      }
      expect(spent.requests.map((r) => r.status)).toEqual([403]);
    } finally {
      await spent.close();
    }
  });
});

describe("GitHub releases and tags (unsigned: a board without keys)", () => {
  it("installs the latest release's tag, not the prerelease", async () => {
    const device = board(gitBoard(treeAt(repo, c1), "v1.0.0", config({})));
    const run = await runCommand(device, "update");
    expect(printed(run.output, "update")).toMatchObject({ ok: true, version: "v1.0.0", installed: "v2.0.0" });
    expect(sameTree(slotTree(device.files(), 1), treeAt(repo, c2))).toBe(true);
  });

  it("a pinned tag costs no request when it runs, and installs when it does not", async () => {
    const device = board(gitBoard(treeAt(repo, c2), "v2.0.0", config({ tag: "v1.0.0" })));
    let n = gh.requests.length;
    const quiet = await runCommand(device, "update");
    expect(printed(quiet.output, "update")).toMatchObject({ ok: true, installed: "v1.0.0" });
    expect(since(n).length).toBeGreaterThan(1);
    await device.run();
    n = gh.requests.length;
    const again = await runCommand(device, "check");
    expect(printed(again.output, "check")).toEqual({ ok: true, version: "v1.0.0", available: null });
    expect(since(n)).toEqual([]);
  });

  it("a repository without releases is a clear error", async () => {
    const empty = await startGitHub({ repos: { "acme/app": { repo } } });
    try {
      const cfg = { ...config({}), source: { type: "github", api: empty.api, repo: "acme/app" } };
      const device = board(gitBoard(treeAt(repo, c2), "v2.0.0", cfg));
      const run = await runCommand(device, "check");
      const result = printed(run.output, "check");
      expect(result.error.code).toBe("not_found");
      expect(result.error.message).toMatch(/no such repository or release/);
    } finally {
      await empty.close();
    }
  });

  it("a missing tag is a clear error", async () => {
    const device = board(gitBoard(treeAt(repo, c2), "v2.0.0", config({ tag: "v9.9.9" })));
    const run = await runCommand(device, "update");
    expect(printed(run.output, "update").error).toMatchObject({ code: "not_found" });
    expect(printed(run.output, "update").error.message).toContain("tag v9.9.9");
  });

  it("a board with keys refuses a release without a signed manifest", async () => {
    const device = board(gitBoard(treeAt(repo, c1), "v1.0.0", { ...config({}), keys: ["a".repeat(64)] }));
    const run = await runCommand(device, "update");
    expect(printed(run.output, "update").error.message).toMatch(
      /release 2\.0\.0 has no manifest\.json asset/,
    );
    expect(currentState(device.files())).toMatchObject({ slot: 0, versions: ["v1.0.0", null] });
  });
});

describe("which files make the app", () => {
  let layout: GitRepo;
  let gitea: Emulator;
  let gogs: Emulator;
  let tip: string;
  const app = {
    "firmware/main.py": gitAppMain("sub"),
    "firmware/lib/sensors/temp.py": "OFFSET = 5\n",
    "firmware/lib/sensors/test_temp.py": "assert True\n",
    "firmware/tests/test_all.py": "assert True\n",
    "firmware/web/a.html": "<p>a</p>\n",
    "firmware/web/b.css": "p {}\n",
    "README.md": "# the repository\n",
    "tools/flash.sh": "echo\n",
  };
  beforeAll(async () => {
    layout = createRepo();
    tip = layout.commitTree(app, "layout");
    gitea = await startGitea({ repos: { "acme/layout": { repo: layout } }, perPage: 3 });
    gogs = await startGogs({ repos: { "acme/layout": { repo: layout } } });
  });
  afterAll(async () => {
    await gitea.close();
    await gogs.close();
    layout.close();
  });

  it("subdir becomes the slot root; ignore wins over allow; the running mpota package is carried over", async () => {
    const source = {
      type: "gitea",
      api: gitea.api,
      repo: "acme/layout",
      branch: "main",
      subdir: "firmware",
      allow: ["main.py", "lib/", "web/*.html"],
      ignore: ["tests/", "**/test_*.py"],
    };
    const device = board(gitBoard(gitApp("before"), "0.0.1", { ...config({}), source }));
    const n = gitea.requests.length;
    const run = await runCommand(device, "update");
    expect(printed(run.output, "update")).toMatchObject({ ok: true, installed: tip });
    const want = {
      ...devicePackage(),
      "main.py": app["firmware/main.py"],
      "lib/sensors/temp.py": app["firmware/lib/sensors/temp.py"],
      "web/a.html": app["firmware/web/a.html"],
    };
    expect(sameTree(slotTree(device.files(), 1), want)).toBe(true);
    // The tree came in pages of 3 entries (Gitea's page, truncated, total_count).
    const pages = gitea.requests.slice(n).filter((r) => r.url.includes("/git/trees/"));
    expect(pages.length).toBe(Math.ceil(layout.tree(tip).length / 3));
    const booted = await device.run();
    expect(booted.output).toContain(`running ${tip}`);
  });

  it("Gogs lists one folder per request and skips folders the config leaves out", async () => {
    const source = {
      type: "gogs",
      api: gogs.api,
      repo: "acme/layout",
      branch: "main",
      paths: ["firmware/web"],
    };
    const device = board(gitBoard(gitApp("before"), "0.0.1", { ...config({}), source }));
    const n = gogs.requests.length;
    const run = await runCommand(device, "update");
    expect(printed(run.output, "update")).toMatchObject({ ok: true, installed: tip });
    expect(Object.keys(slotTree(device.files(), 1)).filter((p) => !p.startsWith("lib/mpota/"))).toEqual([
      "firmware/web/a.html",
      "firmware/web/b.css",
    ]);
    const trees = gogs.requests.slice(n).filter((r) => r.url.includes("/git/trees/"));
    expect(trees).toHaveLength(3); // the root, firmware/, firmware/web/; not tools/, firmware/lib/ or tests/
  });
});

describe("updates and power cuts", () => {
  it("a second update downloads only the files that changed", async () => {
    const device = board(gitBoard(treeAt(repo, c1), c1, config({ branch: "main" })));
    repo.branch("step", c1);
    await device.run({
      boot: false,
      script: `open("/ota_config.json", "w").write(${JSON.stringify(JSON.stringify(config({ branch: "step" })))})`,
    });
    // First update: from a board set up without a file list, to c1 again by force (every file fetched).
    const first = await runCommand(device, "update-force");
    expect(printed(first.output, "update")).toMatchObject({ ok: true, installed: c1 });
    await runCommand(device, "confirm");
    repo.branch("step", c2);
    const n = gh.requests.length;
    const second = await runCommand(device, "update");
    expect(printed(second.output, "update")).toMatchObject({ ok: true, installed: c2 });
    const files = since(n)
      .filter((r) => r.host === "raw")
      .map((r) => r.url.split(`/${c2}/`)[1]);
    expect(files.sort()).toEqual(["lib/sensors/temp.py", "main.py"]);
  });

  it(
    "a power cut at any point of an install leaves the old or the new commit, never a mix",
    async () => {
      const files = {
        ...gitBoard(treeAt(repo, c1), c1, { ...config({ branch: "main" }), reset_mode: "hard" }),
        "data/cmd": "update",
      };
      const scenario = {
        name: "github update",
        files,
        releases: { [c1]: treeAt(repo, c1), [c2]: treeAt(repo, c2) },
        allowed: [c1, c2],
      };
      const { clean, failures } = await spreadCuts(scenario, "torn", 12);
      expect(failures).toEqual([]);
      expect(currentState(clean)).toMatchObject({ versions: [c1, c2] });
    },
    scaled(300_000),
  );
});
