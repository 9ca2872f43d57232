/**
 * The real device code (mpota.update / check through src_github, src_gitea, src_gogs) on virtual
 * boards against the provider emulators, each serving a real local git repository.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { printed, runCommand, sameTree, slotTree } from "../../testing/board.ts";
import { gitApp, gitBoard, treeAt } from "../../testing/git-board.ts";
import type { Emulator, EmulatorOptions } from "../../testing/git-hosts/emulator.ts";
import { createRepo, type GitRepo } from "../../testing/git-hosts/git-repo.ts";
import { startGitea, startGogs } from "../../testing/git-hosts/gitea.ts";
import { startGitHub } from "../../testing/git-hosts/github.ts";
import { deviceTracker } from "../../testing/sim.ts";
import { currentState } from "../client/state-record.ts";

const TOKEN = "s3cret-token-value";

const providers = [
  {
    type: "github",
    start: (o: EmulatorOptions) => startGitHub(o),
    names: { api: "api.gh.test", raw: "raw.gh.test" },
  },
  { type: "gitea", start: startGitea, names: { api: "gitea.test", raw: "storage.gitea.test" } },
  { type: "gogs", start: startGogs, names: { api: "gogs.test", raw: "storage.gogs.test" } },
] as const;

const hosts = Object.fromEntries(
  providers.flatMap((p) => [
    [p.names.api, "127.0.0.1"],
    [p.names.raw, "127.0.0.1"],
  ]),
);

const boards = deviceTracker();
const board = (files: Record<string, Uint8Array | string>) => boards.device({ files, hosts });
afterEach(boards.closeAll);

describe.each(providers)("$type source", (provider) => {
  let repo: GitRepo;
  let secret: GitRepo;
  let emulator: Emulator;
  let tampered = false;
  let c1: string;
  let c2: string;
  // Without the mpota package (the boards have it in /lib, as if frozen): every file of an update is
  // checked by its Git blob SHA-1 in pure Python, which is slow on the interpreter; keep them few.
  const t1 = gitApp(
    "c1",
    {
      "lib/sensors/temp.py": "OFFSET = 1\n",
      "lib/sensors/hum.py": "HUM = 1\n",
      "old.py": "OLD = True\n",
      "docs/notes.md": "not for the board\n",
    },
    false,
  );

  beforeAll(async () => {
    repo = createRepo();
    c1 = repo.commitTree(t1, "c1");
    // c2 changes a file, renames one, deletes one and adds one three folders deep.
    const t2 = { ...t1 } as Record<string, Uint8Array | string>;
    t2["lib/sensors/temp.py"] = "OFFSET = 2\n";
    t2["lib/sensors/humidity.py"] = t2["lib/sensors/hum.py"]!;
    delete t2["lib/sensors/hum.py"];
    delete t2["old.py"];
    t2["lib/new/deep/mod.py"] = "ADDED = True\n";
    t2["main.py"] = gitApp("c2")["main.py"]!;
    c2 = repo.commitTree(t2 as Record<string, Uint8Array>, "c2");
    repo.branch("stable", c1);
    secret = createRepo();
    secret.commitTree(t1, "private c1");
    emulator = await provider.start({
      repos: { "acme/app": { repo }, "acme/secret": { repo: secret, private: true } },
      tokens: [TOKEN],
      names: provider.names,
      tamper: (path, data) =>
        tampered && path === "lib/sensors/temp.py" ? Buffer.from("OFFSET = 9\n") : data,
    });
  });

  afterAll(async () => {
    await emulator.close();
    repo.close();
    secret.close();
  });

  const config = (source: Record<string, unknown> = {}) => ({
    project: "greenhouse",
    keys: [],
    reset_mode: "none",
    source: {
      type: provider.type,
      api: emulator.api,
      repo: "acme/app",
      branch: "main",
      ignore: ["docs/"],
      ...source,
    },
  });
  const since = (n: number) => emulator.requests.slice(n);
  const withoutDocs = (tree: Record<string, Uint8Array>) =>
    Object.fromEntries(Object.entries(tree).filter(([p]) => !p.startsWith("docs/")));

  it("checks with one small request, then installs the new commit (changed, renamed, deleted, added files)", async () => {
    const device = board(gitBoard(withoutDocs(treeAt(repo, c1)), c1, config({ branch: "stable" })));
    let n = emulator.requests.length;
    const quiet = await runCommand(device, "check");
    expect(printed(quiet.output, "check")).toEqual({ ok: true, version: c1, available: null });
    expect(since(n)).toHaveLength(1);
    expect(since(n)[0]!.url).toContain("stable");
    if (provider.type === "github") {
      // The answer's ETag was kept: the next check is a 304 with no body.
      n = emulator.requests.length;
      await runCommand(device, "check");
      expect(since(n).map((r) => [r.status, r.bytes])).toEqual([[304, 0]]);
    }

    await device.run({
      boot: false,
      script: `open("/ota_config.json", "w").write(${JSON.stringify(JSON.stringify(config()))})`,
    });
    n = emulator.requests.length;
    const run = await runCommand(device, "update");
    expect(printed(run.output, "update")).toMatchObject({ ok: true, version: c1, installed: c2 });
    expect((await device.run()).output).toContain(`running ${c2}`);
    const files = device.files();
    expect(currentState(files)).toMatchObject({ slot: 1, state: "trial", versions: [c1, c2] });
    expect(sameTree(slotTree(files, 1), withoutDocs(treeAt(repo, c2)))).toBe(true);
    const downloads = since(n).filter((r) => /\/raw\/|raw\.gh|\/contents\//.test(r.url) || r.host === "raw");
    expect(downloads.length).toBeGreaterThan(0);
    expect(since(n).every((r) => !r.url.includes("docs/"))).toBe(true);
  });

  it("reads a private repository with its token, sent to the API host only", async () => {
    const cfg = config({ repo: "acme/secret", token: TOKEN });
    const device = board(gitBoard({ ...gitApp("old", {}, false), "stale.py": "x = 1\n" }, "0.0.1", cfg));
    const n = emulator.requests.length;
    const run = await runCommand(device, "update");
    const result = printed(run.output, "update");
    expect(result.ok).toBe(true);
    expect(sameTree(slotTree(device.files(), 1), withoutDocs(treeAt(secret, secret.resolve("main")!)))).toBe(
      true,
    );
    expect(since(n).filter((r) => r.host === "raw" && r.authorized)).toEqual([]);
    expect(
      since(n)
        .filter((r) => r.host === "api")
        .every((r) => r.authorized),
    ).toBe(true);
    expect(run.output).not.toContain(TOKEN);
  });

  it("says clearly what is wrong: a wrong token, no token for a private repository, a missing branch", async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ repo: "acme/secret", token: "wrong-token" }, "auth", /401/],
      [{ repo: "acme/secret" }, "not_found", /private and needs a token/],
      [{ branch: "no-such-branch" }, "not_found", /branch no-such-branch/],
    ];
    for (const [source, code, message] of cases) {
      const device = board(gitBoard(gitApp("old", {}, false), "0.0.1", config(source)));
      const run = await runCommand(device, "update");
      const result = printed(run.output, "update");
      expect(result.ok, JSON.stringify(source)).toBe(false);
      expect(result.error.code).toBe(code);
      expect(result.error.message).toMatch(message);
      expect(run.output).not.toContain("wrong-token");
      expect(device.readText(".mpota/last_error.json")).toContain(code);
      expect(currentState(device.files())).toMatchObject({ slot: 0, versions: ["0.0.1", null] });
    }
  });

  it("refuses a file whose Git blob SHA-1 does not match the tree, and keeps running the old release", async () => {
    const device = board(gitBoard(withoutDocs(treeAt(repo, c1)), c1, config()));
    tampered = true;
    try {
      const run = await runCommand(device, "update");
      const result = printed(run.output, "update");
      expect(result.ok).toBe(false);
      expect(result.error.code).toBe("git_sha1");
      expect(result.error.message).toContain("lib/sensors/temp.py");
    } finally {
      tampered = false;
    }
    const files = device.files();
    expect(currentState(files)).toMatchObject({ slot: 0, state: "good", versions: [c1, null] });
    expect(sameTree(slotTree(files, 0), withoutDocs(treeAt(repo, c1)))).toBe(true);
    // The next attempt, with the mirror honest again, installs it.
    const again = await runCommand(device, "update");
    expect(printed(again.output, "update")).toMatchObject({ ok: true, installed: c2 });
  });
});
