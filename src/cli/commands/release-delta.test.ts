import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { releaseWorkspace, runCli } from "../../../testing/cli.ts";
import { pythonModule, seededRng } from "../../../testing/delta-corpus.ts";
import { MPY_HEADER } from "../../mpy/index.ts";
import { openStore } from "../../store/index.ts";

const mpota = (cwd: string, ...args: string[]) => runCli(args, { cwd });

const workspace = () => releaseWorkspace("mpota-cli-delta-");

// --no-mpota: these tests look at the app's own files (the mpota package is added by default).
const common = ["--project", "greenhouse", "--key", "release.key", "--out", "store", "--no-mpota"];
const module = pythonModule(seededRng(1), 30);

describe("mpota release --mpy", () => {
  it("ships .py modules as .mpy; main.py, hooks and --keep-py files stay source", async () => {
    const { dir, app } = workspace();
    app("app", { "main.py": "import a\n", "lib/a.py": module, "lib/cfg.py": "X = 1\n", "hook.py": "pass\n" });
    const run = await mpota(
      dir,
      "release",
      "app",
      "--version",
      "1.0.0",
      ...common,
      "--mpy",
      "--keep-py",
      "cfg.py",
      "--post-update",
      "hook.py",
    );
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const store = openStore(join(dir, "store"));
    const files = store.readRelease("greenhouse", "1.0.0").envelope.signed.files;
    expect(files.map((f) => f.path)).toEqual(["hook.py", "lib/a.mpy", "lib/cfg.py", "main.py"]);
    const mpy = files.find((f) => f.path === "lib/a.mpy")!;
    expect(store.readFile(mpy.sha256, mpy.size).subarray(0, 4)).toEqual(Buffer.from(MPY_HEADER));
  });

  it("refuses a module that does not compile, and --keep-py without --mpy, in one line", async () => {
    const { dir, app } = workspace();
    app("app", { "main.py": "pass\n", "lib/bad.py": "def f(:\n" });
    const bad = await mpota(dir, "release", "app", "--version", "1.0.0", ...common, "--mpy");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^mpota: lib\/bad\.py does not compile: .*line 1.*SyntaxError/);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    const keep = await mpota(dir, "release", "app", "--version", "1.0.0", ...common, "--keep-py", "x.py");
    expect(keep).toMatchObject({ code: 2, stderr: "mpota: --keep-py only applies with --mpy\n" });
  });
});

describe("mpota release --patches", () => {
  it("makes patches and update packs from earlier releases by default, none with --patches 0, and checks the number", async () => {
    const { dir, app } = workspace();
    app("v1", { "main.py": "pass\n", "lib/a.py": module });
    app("v2", { "main.py": "pass\n", "lib/a.py": module.replace("return", "return 1 +") });
    expect((await mpota(dir, "release", "v1", "--version", "1.0.0", ...common)).code).toBe(0);
    const second = await mpota(dir, "release", "v2", "--version", "1.1.0", ...common);
    expect(second.stdout).toMatch(/, 1 patch, 1 update pack, signed with key/);
    const none = await mpota(
      dir,
      "release",
      "v2",
      "--version",
      "1.2.0",
      ...common,
      "--patches",
      "0",
      "--json",
    );
    expect(JSON.parse(none.stdout)).toMatchObject({ patches: 0, packs: 0 });
    const store = openStore(join(dir, "store"));
    const entry = store
      .readRelease("greenhouse", "1.1.0")
      .envelope.signed.files.find((f) => f.path === "lib/a.py")!;
    expect(entry.blobs.patches).toBe(undefined); // the pack carries it
    expect(store.updatePacks("greenhouse", "1.1.0")).toHaveLength(1);
    const bad = await mpota(dir, "release", "v2", "--version", "1.3.0", ...common, "--patches", "many");
    expect(bad).toMatchObject({
      code: 2,
      stderr: 'mpota: --patches "many": give how many earlier releases, 0 to 99\n',
    });
  });

  it("lists the patches in the signed manifest with --signed-patches", async () => {
    const { dir, app } = workspace();
    app("v1", { "main.py": "pass\n", "lib/a.py": module });
    app("v2", { "main.py": "pass\n", "lib/a.py": module.replace("return", "return 1 +") });
    expect((await mpota(dir, "release", "v1", "--version", "1.0.0", ...common)).code).toBe(0);
    const second = await mpota(
      dir,
      "release",
      "v2",
      "--version",
      "1.1.0",
      ...common,
      "--signed-patches",
      "--json",
    );
    expect(JSON.parse(second.stdout)).toMatchObject({ patches: 1, packs: 1 });
    const store = openStore(join(dir, "store"));
    const [v1, v2] = ["1.0.0", "1.1.0"].map((v) => store.readRelease("greenhouse", v).envelope.signed);
    const entry = v2!.files.find((f) => f.path === "lib/a.py")!;
    expect(entry.blobs.patches).toHaveLength(1);
    expect(entry.blobs.patches![0]!.size).toBeLessThan(entry.blobs.zlib / 10);
    const from = v1!.files.find((f) => f.path === "lib/a.py")!.sha256;
    expect(store.hasPatch(from, entry.sha256)).toBe(true);
  });
});
