/** The loader (device/boot.py) and the mpota calls that need no network, on the virtual device. */
import { afterEach, describe, expect, it } from "vitest";
import { appTree, boardTree, printed, sameTree, slotTree } from "../../testing/board.ts";
import { currentState, firstStateRecord, type StateRecord } from "../client/state-record.ts";
import { type FlashTree, VirtualDevice } from "../sim/index.ts";

const devices: VirtualDevice[] = [];
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
});

function board(files: FlashTree): VirtualDevice {
  const device = new VirtualDevice({ files, net: false });
  devices.push(device);
  return device;
}

/** An app that says which version runs, then does `then`. */
const app = (version: string, then = "", extra: Record<string, string> = {}) =>
  appTree(`import mpota, json\nprint("running ${version}")\n${then}\n`, extra);

/** Slot 0 holds 1.0.0 (good), slot 1 holds 1.1.0 on trial. */
function trialRecord(extra: Partial<StateRecord> = {}): StateRecord {
  return {
    ...firstStateRecord("1.0.0"),
    slot: 1,
    state: "trial",
    versions: ["1.0.0", "1.1.0"],
    max_boots: 3,
    wdt_ms: 0,
    auto_s: 0,
    ...extra,
  };
}

const printStatus = 'print("status", json.dumps(mpota.status()))';
const statusIn = (output: string) => printed(output, "status");

describe("the loader", () => {
  it("runs the active slot's main.py with the slot and slot/lib on sys.path, from inside the slot", async () => {
    const v1 = app("1.0.0", "import os, sys, util\nprint(os.getcwd(), sys.path[0], sys.path[1], util.NAME)", {
      "lib/util.py": 'NAME = "util of 1.0.0"',
    });
    const device = board(boardTree({ slots: [v1, null], record: firstStateRecord("1.0.0") }));
    const r = await device.run();
    expect(r.ok).toBe(true);
    expect(r.output).toContain("running 1.0.0");
    expect(r.output).toContain("/.mpota/slot0 /.mpota/slot0 /.mpota/slot0/lib util of 1.0.0");
  });

  it("without a valid state record it says so and runs nothing", async () => {
    const files = boardTree({ slots: [app("1.0.0"), null], record: firstStateRecord("1.0.0") });
    files[".mpota/state.a"] = "0badc0de {}\n";
    const r = await board(files).run();
    expect(r.output).toContain("mpota: no valid state record");
    expect(r.output).not.toContain("running");
  });

  it("counts trial boots and a confirm() makes the release good", async () => {
    const files = boardTree({
      slots: [
        app("1.0.0"),
        app("1.1.0", `${printStatus}\nprint("confirm", json.dumps(mpota.confirm()))\n${printStatus}`),
      ],
      record: trialRecord(),
    });
    const device = board(files);
    const r = await device.run();
    expect(r.output).toContain("running 1.1.0");
    const [before, after] = r.output
      .split("\n")
      .filter((l) => l.startsWith("status "))
      .map((l) => JSON.parse(l.slice(7)));
    expect(before).toMatchObject({ ok: true, version: "1.1.0", slot: 1, state: "trial", boots: 1 });
    expect(after).toMatchObject({ ok: true, version: "1.1.0", state: "good", boots: 0 });
    expect(printed(r.output, "confirm")).toEqual({ ok: true, version: "1.1.0" });
    expect(currentState(device.files())).toMatchObject({
      slot: 1,
      state: "good",
      versions: ["1.0.0", "1.1.0"],
    });
    expect((await device.run()).output).toContain("running 1.1.0");
  });

  it("falls back after max_boots trial boots without confirm()", async () => {
    const device = board(
      boardTree({ slots: [app("1.0.0"), app("1.1.0")], record: trialRecord({ max_boots: 2 }) }),
    );
    expect((await device.run()).output).toContain("running 1.1.0");
    expect((await device.run()).output).toContain("running 1.1.0");
    const third = await device.run();
    expect(third.output).toContain("mpota: 1.1.0 not confirmed after 2 boots; back to 1.0.0");
    expect(third.output).toContain("running 1.0.0");
    expect(currentState(device.files())).toMatchObject({
      slot: 0,
      state: "good",
      failed: "1.1.0",
      why: "not confirmed after 2 boots",
    });
  });

  it("a trial release that crashes falls back at once, runs the rollback hook, and the old tree is intact", async () => {
    const v1 = app("1.0.0", printStatus);
    const v2 = app("1.1.0", 'raise RuntimeError("sensor missing")', {
      "undo.py": 'with open("/data/undone", "w") as f:\n    f.write("1.1.0 undone")',
    });
    const device = board(
      boardTree({
        slots: [v1, v2],
        record: trialRecord({ back_hook: "/.mpota/slot1/undo.py" }),
        files: { "data/": "" },
      }),
    );
    const r = await device.run();
    expect(r.resets.map((x) => x.cause)).toEqual(["reset"]);
    expect(r.output).toContain("RuntimeError: sensor missing");
    expect(r.output).toContain(
      "mpota: 1.1.0 crashed on trial: RuntimeError: sensor missing; back to 1.0.0\n",
    );
    expect(r.output).toContain("running 1.0.0");
    expect(statusIn(r.output)).toMatchObject({
      version: "1.0.0",
      state: "good",
      failed: "1.1.0",
      why: "crashed: RuntimeError: sensor missing",
    });
    expect(device.readText("data/undone")).toBe("1.1.0 undone");
    expect(sameTree(slotTree(device.files(), 0), v1)).toBe(true);
  });

  it("a rollback hook that fails is reported, and the release gone back to runs anyway", async () => {
    const v2 = app("1.1.0", 'raise RuntimeError("broken")', { "undo.py": 'raise OSError("undo failed")' });
    const device = board(
      boardTree({
        slots: [app("1.0.0", printStatus), v2],
        record: trialRecord({ back_hook: "/.mpota/slot1/undo.py" }),
      }),
    );
    const r = await device.run();
    expect(r.ok).toBe(true);
    expect(r.output).toContain("OSError: undo failed");
    expect(statusIn(r.output)).toMatchObject({ version: "1.0.0", state: "good" });
  });

  it("a crash of a good release is a crash like on any board (nothing to fall back to)", async () => {
    const device = board(
      boardTree({
        slots: [app("1.0.0", "raise ValueError('bug')"), null],
        record: firstStateRecord("1.0.0"),
      }),
    );
    const r = await device.run();
    expect(r.ok).toBe(false);
    expect(r.error).toContain("ValueError: bug");
    expect(currentState(device.files())).toMatchObject({ slot: 0, state: "good", seq: 1 });
  });

  it("a trial release that hangs is reset by the trial watchdog and the board falls back", async () => {
    const hang = "import time\nwhile True:\n    time.sleep_ms(100)";
    const device = board(
      boardTree({
        slots: [app("1.0.0", printStatus), app("1.1.0", hang)],
        record: trialRecord({ wdt_ms: 1000 }),
      }),
    );
    const r = await device.run({ timeoutMs: 20_000 });
    expect(r.resets.map((x) => x.cause)).toEqual(["wdt"]);
    expect(r.output).toContain("mpota: 1.1.0 hung: the trial watchdog reset the board; back to 1.0.0");
    expect(statusIn(r.output)).toMatchObject({
      version: "1.0.0",
      failed: "1.1.0",
      why: "hung: the trial watchdog reset the board",
    });
  });

  it("feed() keeps the trial watchdog quiet and confirms after trial.auto_confirm_s", async () => {
    const loop = `import time\nfor i in range(8):\n    time.sleep_ms(800)\n    mpota.feed()\n${printStatus}`;
    const device = board(
      boardTree({
        slots: [app("1.0.0"), app("1.1.0", loop)],
        record: trialRecord({ wdt_ms: 1000, auto_s: 5 }),
      }),
    );
    const r = await device.run({ timeoutMs: 20_000 });
    expect(r.resets.map((x) => x.cause)).toEqual(["wdt"]); // after main.py returns, nobody feeds
    expect(statusIn(r.output)).toMatchObject({ version: "1.1.0", state: "good" });
    expect(currentState(device.files())).toMatchObject({ slot: 1, state: "good" });
  });

  it("a release without main.py says so at boot, and on trial falls back", async () => {
    const noMain = { "lib/app.py": "X = 1\n" };
    const good = await board(boardTree({ slots: [noMain, null], record: firstStateRecord("1.0.0") })).run();
    expect(good.ok).toBe(false);
    expect(good.error).toContain("OSError: this release has no main.py");
    const trial = await board(boardTree({ slots: [app("1.0.0"), noMain], record: trialRecord() })).run();
    expect(trial.output).toContain(
      "mpota: 1.1.0 crashed on trial: OSError: this release has no main.py; back to 1.0.0",
    );
    expect(trial.output).toContain("running 1.0.0");
  });

  it("runs the post_update hook once, at the first boot of the new release", async () => {
    const v2 = app("1.1.0", "", { "migrate.py": 'print("migrating data for 1.1.0")' });
    const device = board(
      boardTree({ slots: [app("1.0.0"), v2], record: trialRecord({ hook: "migrate.py" }) }),
    );
    expect((await device.run()).output).toContain("migrating data for 1.1.0");
    expect((await device.run()).output).not.toContain("migrating");
  });
});

describe("mpota calls without a network", () => {
  it("rollback() goes back to the previous release at once and does not offer the left one again", async () => {
    const v2 = app("1.1.0", `import os\nif "stay" not in os.listdir("/data"):\n    print(mpota.rollback())`);
    const device = board(
      boardTree({
        slots: [app("1.0.0", printStatus), v2],
        record: { ...trialRecord(), state: "good" },
        files: { "data/": "" },
      }),
    );
    const r = await device.run();
    expect(r.resets.map((x) => x.cause)).toEqual(["reset"]);
    expect(r.output).toContain("mpota: rolled back from 1.1.0 to 1.0.0; resetting\n");
    expect(statusIn(r.output)).toMatchObject({
      version: "1.0.0",
      slot: 0,
      failed: "1.1.0",
      why: "rolled back by the app from 1.1.0",
      versions: ["1.0.0", "1.1.0"],
    });
  });

  it("rollback() with reset_mode none switches at the next boot; status() shows what comes next", async () => {
    const config = {
      project: "p",
      keys: ["a".repeat(64)],
      source: { type: "static", url: "http://127.0.0.1:9/x" },
      reset_mode: "none",
    };
    const v2 = app("1.1.0", `print("rollback", json.dumps(mpota.rollback()))\n${printStatus}`);
    const device = board(
      boardTree({ slots: [app("1.0.0"), v2], record: { ...trialRecord(), state: "good" }, config }),
    );
    const r = await device.run();
    expect(printed(r.output, "rollback")).toEqual({ ok: true, version: "1.0.0" });
    expect(statusIn(r.output)).toMatchObject({ version: "1.1.0", slot: 1, next: "1.0.0" });
    expect((await device.run()).output).toContain("running 1.0.0");
  });

  it("errors are values: failures come back as results, are kept in last_error.json and shown by status()", async () => {
    const script = [
      "print('rollback', json.dumps(mpota.rollback()))",
      "print('update', json.dumps(mpota.update()))",
      "print('check', json.dumps(mpota.check()))",
      printStatus,
    ].join("\n");
    const device = board(
      boardTree({ slots: [app("1.0.0", script), null], record: firstStateRecord("1.0.0") }),
    );
    const r = await device.run();
    expect(r.ok).toBe(true);
    const result = (name: string) => printed(r.output, name);
    expect(result("rollback")).toEqual({
      ok: false,
      error: { code: "rollback", message: "no previous release on this board to go back to" },
    });
    const notFound = { code: "config", message: "/ota_config.json not found on the board" };
    expect(result("update")).toEqual({ ok: false, error: notFound });
    expect(result("check")).toEqual({ ok: false, error: notFound });
    expect(statusIn(r.output).last_error).toMatchObject(notFound);
    expect(JSON.parse(device.readText(".mpota/last_error.json")!)).toMatchObject(notFound);
  });

  it("update() during a trial asks for confirm() or rollback() first", async () => {
    const config = {
      project: "p",
      keys: ["a".repeat(64)],
      source: { type: "static", url: "http://127.0.0.1:9/x" },
    };
    const v2 = app("1.1.0", "print('update', json.dumps(mpota.update()))");
    const device = board(boardTree({ slots: [app("1.0.0"), v2], record: trialRecord(), config }));
    const r = await device.run();
    expect(printed(r.output, "update")).toEqual({
      ok: false,
      error: { code: "trial", message: "1.1.0 is on trial: confirm() or rollback() before updating" },
    });
  });
});
