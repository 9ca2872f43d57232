/** `mpota release`, run as a user would (child processes), on folders and on a real git repository. */
import { chmodSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { releaseWorkspace, runCli } from "../../../testing/cli.ts";
import { createRepo } from "../../../testing/git-hosts/git-repo.ts";
import { generateKeyPair, privateKeyPem, verifyEnvelope } from "../../manifest/index.ts";
import { openStore } from "../../store/index.ts";

const mpota = (cwd: string, ...args: string[]) => runCli(args, { cwd });

const workspace = () => releaseWorkspace("mpota-cli-release-");

// --no-mpota: these tests look at the app's own files (the mpota package is added by default).
const common = ["--project", "greenhouse", "--key", "release.key", "--out", "store", "--no-mpota"];

describe("mpota release", () => {
  it("builds signed releases in order, with --rollback, --allow and --ignore", async () => {
    const { dir, key, app } = workspace();
    app("app", {
      "main.py": "print(1)",
      "lib/a.py": "a",
      "tests/t.py": "t",
      "lib/__pycache__/a.pyc": "junk",
    });
    const first = await mpota(dir, "release", "app", "--version", "1.0.0", ...common, "--ignore", "tests");
    expect(first).toMatchObject({ code: 0, stderr: "" });
    const store = openStore(join(dir, "store"));
    const v1 = store.readRelease("greenhouse", "1.0.0").envelope;
    const zsize = v1.signed.files.reduce((n, f) => n + f.blobs.zlib, 0);
    expect(first.stdout).toBe(
      `release greenhouse 1.0.0: 2 files, 9 B (${zsize} B compressed), 2 new blobs, signed with key ${key.keyId}\n` +
        "wrote store/releases/greenhouse/1.0.0/manifest.json\n",
    );
    expect(verifyEnvelope(v1, [key.publicKeyHex])).toEqual([key.keyId]);
    expect(v1.signed.files.map((f) => f.path)).toEqual(["lib/a.py", "main.py"]);

    // Run side by side: none of them changes the highest version the others are checked against.
    const [older, same, rollback] = await Promise.all([
      mpota(dir, "release", "app", "--version", "0.9.0", ...common),
      mpota(dir, "release", "app", "--version", "1.0.0", ...common),
      mpota(
        dir,
        "release",
        "app",
        "--version",
        "0.9.1",
        ...common,
        "--rollback",
        "--rollback-from",
        "1.0.0",
        "--json",
      ),
    ]);
    const allowed = await mpota(
      dir,
      "release",
      "app",
      "--version",
      "1.1.0",
      ...common,
      "--allow",
      "main.py",
      "--json",
    );
    expect(older).toMatchObject({
      code: 2,
      stderr:
        "mpota: version 0.9.0 is not greater than 1.0.0, the latest release of greenhouse in the store (--rollback makes a signed rollback release on purpose)\n",
    });
    expect(same).toMatchObject({
      code: 2,
      stderr: "mpota: release greenhouse 1.0.0 is already in the store; choose a new version\n",
    });
    expect(JSON.parse(rollback.stdout)).toMatchObject({
      version: "0.9.1",
      rollback: true,
      files: 3,
      newBlobs: 1,
    });
    expect(store.readRelease("greenhouse", "0.9.1").envelope.signed).toMatchObject({
      rollback: true,
      rollback_from: ["1.0.0"],
    });
    expect(JSON.parse(allowed.stdout)).toMatchObject({
      project: "greenhouse",
      version: "1.1.0",
      rollback: false,
      files: 1,
      keyId: key.keyId,
      manifest: "store/releases/greenhouse/1.1.0/manifest.json",
    });
    expect(store.listReleases("greenhouse")).toEqual(["0.9.1", "1.0.0", "1.1.0"]);
  });

  it("adds the mpota package at lib/mpota/ unless the release carries its own", async () => {
    const { dir, app } = workspace();
    const withoutFlag = common.filter((arg) => arg !== "--no-mpota");
    app("app", { "main.py": "print(1)" });
    app("own", { "main.py": "print(2)", "lib/mpota/__init__.py": "# patched copy" });
    expect(await mpota(dir, "release", "app", "--version", "1.0.0", ...withoutFlag)).toMatchObject({
      code: 0,
    });
    expect(await mpota(dir, "release", "own", "--version", "1.1.0", ...withoutFlag)).toMatchObject({
      code: 0,
    });
    const store = openStore(join(dir, "store"));
    const paths = (v: string) => store.readRelease("greenhouse", v).envelope.signed.files.map((f) => f.path);
    // As boards get it: __init__.py as source, the other modules compiled, their sources in py/.
    const modules = readdirSync(resolve(import.meta.dirname, "../../../device/mpota")).filter(
      (name) => name.endsWith(".py") && name !== "__init__.py",
    );
    const shipped = [
      "lib/mpota/__init__.py",
      ...modules.map((name) => `lib/mpota/${name.slice(0, -3)}.mpy`),
      ...modules.map((name) => `lib/mpota/py/${name}`),
    ];
    expect(paths("1.0.0")).toEqual([...shipped.sort(), "main.py"]);
    expect(paths("1.1.0")).toEqual(["lib/mpota/__init__.py", "main.py"]);
  });

  it("releases a git ref without a checkout", async () => {
    const { dir, key } = workspace();
    const repo = createRepo();
    try {
      repo.commit({ "app/main.py": "v1", "app/lib/x.py": "x", "README.md": "doc" });
      repo.tag("v1.0.0");
      repo.commit({ "app/main.py": "v2" });
      const r = await mpota(
        dir,
        "release",
        "app",
        "--git",
        "v1.0.0",
        "--repo",
        repo.dir,
        "--version",
        "1.0.0",
        ...common,
        "--json",
      );
      expect(r).toMatchObject({ code: 0, stderr: "" });
      const { envelope } = openStore(join(dir, "store")).readRelease("greenhouse", "1.0.0");
      expect(verifyEnvelope(envelope, [key.publicKeyHex])).toEqual([key.keyId]);
      expect(envelope.signed.files.map((f) => [f.path, f.git_sha1])).toEqual([
        ["lib/x.py", repo.tree("v1.0.0").find((e) => e.path === "app/lib/x.py")?.sha],
        ["main.py", repo.tree("v1.0.0").find((e) => e.path === "app/main.py")?.sha],
      ]);
    } finally {
      repo.close();
    }
  });

  it("refuses a release without main.py (every boot would fail) unless --no-main", async () => {
    const { dir, app } = workspace();
    app("lib-only", { "lib/a.py": "a" });
    const refused = await mpota(dir, "release", "lib-only", "--version", "1.0.0", ...common);
    expect(refused).toMatchObject({ code: 2, stdout: "" });
    expect(refused.stderr).toMatch(/^mpota: the release has no main\.py, .* or pass --no-main .*\n$/);
    expect(existsSync(join(dir, "store/releases/greenhouse/1.0.0"))).toBe(false);
    const asked = await mpota(dir, "release", "lib-only", "--version", "1.0.0", ...common, "--no-main");
    expect(asked).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(join(dir, "store/releases/greenhouse/1.0.0"))).toBe(true);
  });

  it("says in one line what is wrong with each bad argument", async () => {
    const { dir, app } = workspace();
    app("app", { "main.py": "x" });
    writeFileSync(join(dir, "loose.key"), "");
    writeFileSync(join(dir, "other.key"), privateKeyPem(generateKeyPair()), { mode: 0o644 });
    chmodSync(join(dir, "other.key"), 0o644);
    const v = ["--version", "1.0.0"];
    const cases: Array<[string[], number, string]> = [
      [
        ["release", ...v, ...common],
        2,
        "mpota: give the folder to release (mpota release DIR …) or --git REF\n",
      ],
      [["release", "missing", ...v, ...common], 2, "mpota: folder missing does not exist\n"],
      [
        ["release", "app", "--version", "1.0", ...common],
        2,
        'mpota: --version "1.0": not a semver version (e.g. 1.2.0 or 1.2.0-rc.1)\n',
      ],
      [
        ["release", "app", ...v, "--project", "Green House", "--key", "release.key", "--out", "store"],
        2,
        'mpota: --project "Green House": use [a-z0-9][a-z0-9._-]{0,63} (e.g. greenhouse)\n',
      ],
      [
        ["release", "app", ...v, "--project", "p", "--key", "nope.key", "--out", "store"],
        2,
        "mpota: key file nope.key cannot be read (ENOENT)\n",
      ],
      [
        ["release", "app", ...v, "--project", "p", "--key", "loose.key", "--out", "store"],
        2,
        "mpota: key file loose.key is not a PEM private key (make one with `npx mpota keygen --out FILE`)\n",
      ],
      [["release", "app", ...v, ...common, "--allow", "lib"], 2, "mpota: --allow lib matched no file\n"],
      [
        ["release", "app", ...v, ...common, "--min-loader", "two"],
        2,
        'mpota: --min-loader "two": not a whole number\n',
      ],
      [
        ["release", "app", ...v, ...common, "--post-update", "setup.py"],
        2,
        "mpota: the post_update hook setup.py is not a file of the release\n",
      ],
      [
        ["release", "app", ...v, "--project", "p", "--key", "release.key"],
        2,
        "mpota: required option '--out <store>' not specified\n",
      ],
      [
        ["release", "app", ...v, ...common, "--rollback"],
        2,
        "mpota: a rollback release names the releases boards may leave for it (--rollback-from 1.2.0,1.2.1): boards on any other version refuse it\n",
      ],
      [
        ["release", "app", ...v, ...common, "--rollback-from", "1.1.0"],
        2,
        "mpota: --rollback-from names what a rollback release replaces: add --rollback\n",
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => mpota(dir, ...args)));
    results.forEach((r, i) => {
      const [args, code, stderr] = cases[i]!;
      expect({ args, code: r.code, stderr: r.stderr.split("\n\nUsage")[0]?.replace(/\n?$/, "\n") }).toEqual({
        args,
        code,
        stderr,
      });
      expect(r.stdout).toBe("");
    });
    // A key others can read still works, with a warning.
    const warned = await mpota(
      dir,
      "release",
      "app",
      ...v,
      "--project",
      "p",
      "--key",
      "other.key",
      "--out",
      "store",
      "--json",
    );
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe(
      "warning: key file other.key can be read by others (mode 0644); run: chmod 600 other.key\n",
    );
  });
});
