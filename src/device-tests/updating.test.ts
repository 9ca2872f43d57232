/** Updates end to end: a static site on loopback, a board set up as `mpota device bundle` does it. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type ConfigExtra,
  printed,
  runCommand,
  sameTree,
  serveStatic,
  slotTree,
  staticFixture,
  testApp,
} from "../../testing/board.ts";
import { currentState } from "../client/state-record.ts";

const fixture = staticFixture(serveStatic);
const { project: PROJECT, board, release, publish, boardFiles } = fixture;

// 1.0.0 -> 1.1.0 changes a file in a nested folder, keeps two, removes one and adds one three levels deep.
const v100 = testApp("1.0.0", {
  "lib/sensors/temp.py": "OFFSET = 1\n",
  "lib/sensors/hum.py": "HUM = 1\n",
  "assets/web/index.html": "<h1>greenhouse</h1>\n",
  "old.py": "print('gone in 1.1.0')\n",
});
const v110 = testApp("1.1.0", {
  "lib/sensors/temp.py": "OFFSET = 2\n",
  "lib/sensors/hum.py": "HUM = 1\n",
  "assets/web/index.html": "<h1>greenhouse</h1>\n",
  "lib/new/deep/mod.py": "ADDED = True\n",
});
const v090 = testApp("0.9.0");
const v080 = testApp("0.8.0");
const crashing = testApp("1.2.0", { "lib/sensors/temp.py": "raise ImportError('no sensor on bus 2')\n" });
const hanging = testApp("1.3.0", {
  "lib/sensors/temp.py": "import time\nwhile True:\n    time.sleep_ms(50)\n",
});

/** A board config naming the site with a trailing slash (the device drops it). */
const config = (channel: string, extra: ConfigExtra = {}) =>
  fixture.config(channel, { ...extra, source: { url: `${fixture.server.url}/` } });

const blobRequests = () => fixture.server.requests.filter((p) => p.includes("/blobs/"));

beforeAll(async () => {
  await fixture.start();
  release("1.0.0", v100);
  release("1.1.0", v110);
  release("0.9.0", v090, { rollback: true, rollbackFrom: ["1.0.0"] });
  release("0.8.0", v080);
  // The app imports its sensors module only from 1.2.0 on: give it a main that does.
  release(
    "1.2.0",
    { ...crashing, "boot_check.py": "import sensors.temp\n" },
    {
      hooks: { post_update: "boot_check.py" },
    },
  );
  release(
    "1.3.0",
    { ...hanging, "boot_check.py": "import sensors.temp\n" },
    {
      hooks: { post_update: "boot_check.py" },
    },
  );
  release("2.0.0", testApp("2.0.0"), { minLoader: 2 });
  release("3.0.0", { "main.py": 'print("running 3.0.0")\n' });
  for (const [channel, version] of Object.entries({
    bare: "3.0.0",
    future: "2.0.0",
    stable: "1.1.0",
    same: "1.0.0",
    rollback: "0.9.0",
    old: "0.8.0",
    broken: "1.2.0",
    hangs: "1.3.0",
  }))
    publish(channel, version);
});

afterEach(async () => {
  await fixture.closeBoards();
  fixture.server.requests.length = 0;
});

afterAll(fixture.close);

describe("update", () => {
  it("installs 1.1.0 beside 1.0.0 (copying unchanged files, downloading the rest), boots it on trial, confirms", async () => {
    const device = board(boardFiles(config("stable"), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(r.output).toContain("running 1.0.0");
    expect(r.resets.map((x) => x.cause)).toEqual(["reset"]);
    expect(r.output).toContain("mpota: installed 1.1.0, to run on trial; resetting\nrunning 1.1.0");
    expect(printed(r.output, "status")).toMatchObject({
      version: "1.1.0",
      slot: 1,
      state: "trial",
      boots: 1,
    });
    const files = device.files();
    expect(sameTree(slotTree(files, 1), v110)).toBe(true);
    expect(sameTree(slotTree(files, 0), v100)).toBe(true);
    expect(files[".mpota/tmp/"] ?? files[".mpota/tmp"]).toBeUndefined();
    // Only the changed and the added files came over the network.
    const changed = ["main.py", "lib/sensors/temp.py", "lib/new/deep/mod.py"];
    expect(blobRequests()).toHaveLength(changed.length);

    const c = await runCommand(device, "confirm");
    expect(printed(c.output, "confirm")).toEqual({ ok: true, version: "1.1.0" });
    expect(currentState(device.files())).toMatchObject({
      slot: 1,
      state: "good",
      versions: ["1.0.0", "1.1.0"],
    });
    expect((await device.run()).output).toContain("running 1.1.0");
  });

  it("a bootstrap board (no release yet) installs the channel's release at its first boot", async () => {
    const device = board(boardFiles(config("same")));
    const r = await device.run();
    expect(r.output).toContain("mpota: no release installed yet");
    expect(r.output).toContain("running 1.0.0");
    expect(sameTree(slotTree(device.files(), 1), v100)).toBe(true);
    expect(currentState(device.files())).toMatchObject({
      slot: 1,
      state: "trial",
      versions: ["0.0.0", "1.0.0"],
    });
  });

  it("no update: one small request, nothing written", async () => {
    const device = board(boardFiles(config("same"), "1.0.0"));
    const before = device.files();
    const r = await runCommand(device, "update");
    expect(printed(r.output, "update")).toEqual({ ok: true, version: "1.0.0", installed: null });
    expect(fixture.server.requests).toEqual([`/${PROJECT}/channels/same.up`]);
    const after = device.files();
    for (const path of Object.keys(before))
      if (path !== "data/cmd") expect(after[path]).toEqual(before[path]);
  });

  it("check() says what is available without installing it", async () => {
    const device = board(boardFiles(config("stable"), "1.0.0"));
    const r = await runCommand(device, "check");
    expect(printed(r.output, "check")).toEqual({ ok: true, version: "1.0.0", available: "1.1.0" });
    expect(currentState(device.files())).toMatchObject({ seq: 1, versions: ["1.0.0", null] });
  });

  it("a check reads the validated copy of an unchanged config; a changed or broken one is validated again", async () => {
    const device = board(boardFiles(config("same"), "1.0.0"));
    const write = async (path: string, text: string) => {
      const r = await device.run({
        boot: false,
        script: `with open(${JSON.stringify(path)}, "w") as f:\n    f.write(${JSON.stringify(text)})`,
      });
      expect(r.ok).toBe(true);
    };
    const check = async () => printed((await runCommand(device, "check")).output, "check");
    expect(await check()).toEqual({ ok: true, version: "1.0.0", available: null });
    const copy = device.readText(".mpota/config.json")!;
    const [key, body] = copy.split("\n");
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(body!)).toMatchObject({
      reset_mode: "hard",
      trial: { max_boots: 3 },
      source: { channel: "same" },
    });
    // Proof that the copy is what a check reads: one edited under the same key is followed.
    await write("/.mpota/config.json", copy.replace('"same"', '"stable"'));
    expect(await check()).toEqual({ ok: true, version: "1.0.0", available: "1.1.0" });
    // A new config, wrong: its own message, not the copy of the old one.
    const text = device.readText("ota_config.json")!;
    await write("/ota_config.json", text.replace("{", '{"bogus": 1, '));
    expect(await check()).toMatchObject({
      ok: false,
      error: { code: "config", message: expect.stringContaining('unknown key "bogus"') },
    });
    // A new config, valid: validated, followed and kept under its own key.
    await write("/ota_config.json", text.replace('"same"', '"stable"'));
    expect(await check()).toEqual({ ok: true, version: "1.0.0", available: "1.1.0" });
    const second = device.readText(".mpota/config.json")!;
    expect(second.split("\n")[0]).not.toBe(key);
    // A broken copy (however it came about) is validated again and replaced.
    await write("/ota_config.json", text);
    await check();
    await write("/.mpota/config.json", `${device.readText(".mpota/config.json")!.split("\n")[0]}\n{"sour`);
    expect(await check()).toEqual({ ok: true, version: "1.0.0", available: null });
    expect(device.readText(".mpota/config.json")).toBe(copy);
    expect(device.files()[".mpota/config.json.new"]).toBeUndefined();
  });

  it("a power cut at any flash write of a check: the next check works and keeps a whole copy of the config", async () => {
    const files = { ...boardFiles(config("same"), "1.0.0"), "data/cmd": "check" };
    const clean = await board(files).run();
    expect(printed(clean.output, "check")).toEqual({ ok: true, version: "1.0.0", available: null });
    expect(clean.flashOps).toBeGreaterThan(2);
    for (const model of ["torn", "commit-on-close"] as const)
      for (let cutAt = 1; cutAt <= clean.flashOps; cutAt++) {
        const device = board(files, { flash: { model, cutAt } });
        const cut = await device.run({ maxReboots: 1 });
        expect(cut.resets).toEqual([{ cause: "cut", atOp: cutAt }]);
        const next = await runCommand(device, "check");
        expect(printed(next.output, "check"), `${model}, cut at ${cutAt}`).toEqual({
          ok: true,
          version: "1.0.0",
          available: null,
        });
        const [key, body] = device.readText(".mpota/config.json")!.split("\n");
        expect(key).toMatch(/^[0-9a-f]{64}$/);
        expect(JSON.parse(body!)).toMatchObject({ project: PROJECT, source: { channel: "same" } });
      }
  });

  it("update(force=True) reinstalls the running version into the other slot, all by local copies", async () => {
    const device = board(boardFiles(config("same"), "1.0.0"));
    const r = await runCommand(device, "update-force");
    expect(r.output.match(/running 1\.0\.0/g)).toHaveLength(2);
    expect(currentState(device.files())).toMatchObject({
      slot: 1,
      state: "trial",
      versions: ["1.0.0", "1.0.0"],
    });
    expect(sameTree(slotTree(device.files(), 1), v100)).toBe(true);
    expect(blobRequests()).toEqual([]);
  });

  it("a pinned version is installed whatever the channel says", async () => {
    const device = board(boardFiles(config("same", { pin: "1.1.0" }), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(r.output).toContain("running 1.1.0");
    expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
  });

  it("a pinned version that crashed is not installed again by itself (no crash loop), only when forced", async () => {
    const device = board(boardFiles(config("same", { pin: "1.2.0" }), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(r.output.split("\n").filter((l) => l.startsWith("running "))).toEqual([
      "running 1.0.0",
      "running 1.0.0",
    ]);
    expect(currentState(device.files())).toMatchObject({ slot: 0, failed: "1.2.0" });
    const again = await runCommand(device, "update");
    expect(printed(again.output, "update")).toEqual({ ok: true, version: "1.0.0", installed: null });
    const check = await runCommand(device, "check");
    expect(printed(check.output, "check")).toEqual({ ok: true, version: "1.0.0", available: null });
  });

  it("installs an older release signed as a rollback release, and refuses an older one that is not", async () => {
    const device = board(boardFiles(config("rollback"), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(r.output).toContain("running 0.9.0");
    expect(sameTree(slotTree(device.files(), 1), v090)).toBe(true);

    const other = board(boardFiles(config("old"), "1.0.0"));
    const before = other.files();
    const refused = await runCommand(other, "update");
    expect(printed(refused.output, "update")).toEqual({
      ok: false,
      error: {
        code: "version",
        message: "0.8.0 is older than the running 1.0.0 and not a signed rollback release",
      },
    });
    expect(currentState(other.files())).toEqual(currentState(before));
    expect(sameTree(slotTree(other.files(), 0), v100)).toBe(true);
  });

  it("refuses a release without the mpota package: the board could never update again", async () => {
    const device = board(boardFiles(config("bare"), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(printed(r.output, "update")).toEqual({
      ok: false,
      error: {
        code: "manifest",
        message:
          "the release does not carry the mpota package (lib/mpota/): the board could not update again after installing it",
      },
    });
    expect(currentState(device.files())).toMatchObject({ slot: 0, versions: ["1.0.0", null] });
  });

  it("refuses a release that needs a newer loader than the board has", async () => {
    const device = board(boardFiles(config("future"), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(printed(r.output, "update")).toEqual({
      ok: false,
      error: { code: "loader", message: "2.0.0 needs loader 2; this board has loader 1" },
    });
    expect(currentState(device.files())).toMatchObject({ slot: 0, versions: ["1.0.0", null] });
  });

  it("after a manual rollback the release left is not installed again (unless forced)", async () => {
    const device = board(boardFiles(config("stable"), "1.0.0"));
    await runCommand(device, "update");
    const back = await runCommand(device, "rollback");
    expect(back.output).toContain("running 1.0.0");
    expect(currentState(device.files())).toMatchObject({ slot: 0, failed: "1.1.0" });
    const again = await runCommand(device, "update");
    expect(printed(again.output, "update")).toEqual({ ok: true, version: "1.0.0", installed: null });
    const forced = await runCommand(device, "update-force");
    expect(forced.output).toContain("running 1.1.0");
  });

  it("rolls back by itself from a release that crashes at start", async () => {
    const device = board(boardFiles(config("broken"), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(r.output).toContain("ImportError: no sensor on bus 2");
    expect(r.output.split("\n").filter((l) => l.startsWith("running "))).toEqual([
      "running 1.0.0",
      "running 1.0.0",
    ]);
    expect(printed(r.output, "status")).toMatchObject({ version: "1.0.0", failed: "1.2.0" });
    expect(printed(r.output, "status").why).toMatch(/^crashed: ImportError: no sensor on bus 2/);
    expect(sameTree(slotTree(device.files(), 0), v100)).toBe(true);
    // The failed release is not offered again.
    const again = await runCommand(device, "update");
    expect(printed(again.output, "update")).toMatchObject({ ok: true, installed: null });
  });

  it("rolls back by itself from a release that hangs (trial watchdog)", async () => {
    const device = board(boardFiles(config("hangs", { trial: { watchdog_ms: 1000 } }), "1.0.0"));
    const r = await runCommand(device, "update", { timeoutMs: 20_000 });
    expect(r.resets.map((x) => x.cause)).toEqual(["reset", "wdt"]);
    expect(printed(r.output, "status")).toMatchObject({
      version: "1.0.0",
      failed: "1.3.0",
      why: "hung: the trial watchdog reset the board",
    });
  });
});
