/**
 * Boards in the field (docs/device.md): the status LED, the battery gate, the schedule (interval,
 * window, crashes, rollout), the update watchdog, mpota.notify() and the log, on virtual boards
 * updating from a static site on loopback (the fault server: no Date header unless a test adds one).
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ConfigExtra, faultFixture, printed, runCommand, testApp } from "../../testing/board.ts";
import { scaled } from "../../testing/sim.ts";
import { currentState } from "../client/state-record.ts";

const fixture = faultFixture();
const { board, release, publish, boardFiles, channelPath } = fixture;

/** A fuel gauge in the app: 80 % at the first reading of a boot, 10 % after (the load of a download). */
const GAUGE =
  "readings = 0\ndef percent():\n    global readings\n    readings += 1\n    return 80 if readings == 1 else 10\n";
const v100 = testApp("1.0.0", { "gauge.py": GAUGE });
// lib/noise.py hardly compresses: its blob is about 1 KB on the wire.
const v110 = testApp("1.1.0", {
  "gauge.py": GAUGE,
  "lib/big.py": `DATA = ${JSON.stringify("x".repeat(3000))}\n`,
  "lib/noise.py": `NOISE = "${randomBytes(768).toString("base64")}"\n`,
});

const config = (channel: string, extra: ConfigExtra = {}) =>
  fixture.config(channel, { reset_mode: "none", ...extra });
const requests = () => fixture.server.requests.map((q) => q.path);
const DAY = Date.UTC(2026, 11, 6);
const at = (hour: number, minute = 0) => DAY + (hour * 60 + minute) * 60_000;

/** Runs `call` (Python) after the board booted its app; prints its result and the LED pin's levels. */
const script = (call = "mpota.update()", setup = "") =>
  `import mpota, json, machine\n${setup}\nprint("result", json.dumps(${call}))\nprint("pins", json.dumps(machine.pin_levels.get(2)))`;

beforeAll(async () => {
  await fixture.start();
  release("1.0.0", v100);
  release("1.1.0", v110);
  publish("stable", "1.1.0");
  publish("same", "1.0.0");
});

afterEach(async () => {
  await fixture.closeBoards();
  fixture.server.requests.length = 0;
  fixture.server.rules.length = 0;
});

afterAll(fixture.close);

describe("battery gate", () => {
  it("below min_percent: a deferral with its reason, no request, nothing written; force=True goes on", async () => {
    const battery = { adc_pin: 34, divider: 2, v_min: 3.3, v_max: 4.2, min_percent: 20 };
    const device = board(boardFiles(config("stable", { battery }), "1.0.0"));
    const low = await device.run({ script: script("mpota.update()", "machine.adc_volts[34] = 1.7") });
    expect(printed(low.output, "result")).toEqual({
      ok: true,
      version: "1.0.0",
      deferred: "battery 11 % < 20 %",
    });
    expect(requests()).toEqual([]);
    expect(low.flashOps).toBe(0);

    const forced = await device.run({
      script: script("mpota.update(force=True)", "machine.adc_volts[34] = 1.7"),
    });
    expect(printed(forced.output, "result")).toMatchObject({ ok: true, installed: "1.1.0" });
  });

  it("enough charge: the update goes on (3.8 V of 3.3..4.2 V is 55 %)", async () => {
    const battery = { adc_pin: 34, divider: 2, min_percent: 50 };
    const device = board(boardFiles(config("stable", { battery }), "1.0.0"));
    const r = await device.run({ script: script("mpota.update()", "machine.adc_volts[34] = 1.9") });
    expect(printed(r.output, "result")).toMatchObject({ ok: true, installed: "1.1.0" });
  });

  it("checked again before the commit: a charge that fell during the download commits nothing", async () => {
    const device = board(boardFiles(config("stable", { battery: { read: "gauge.percent" } }), "1.0.0"));
    const r = await device.run({ script: script() });
    expect(printed(r.output, "result")).toEqual({
      ok: true,
      version: "1.0.0",
      deferred: "battery 10 % < 20 % before the commit",
    });
    expect(requests().some((p) => p.includes("/blobs/"))).toBe(true);
    expect(currentState(device.files())).toMatchObject({ slot: 0, state: "good", versions: ["1.0.0", null] });
    expect(device.readText(".mpota/last_error.json")).toBeUndefined();
    expect(Object.keys(device.files()).some((p) => p.startsWith(".mpota/tmp/") && !p.endsWith("/"))).toBe(
      false,
    );
  });
});

describe("schedule", () => {
  it("min_interval_s: a second call makes no request, also after a reset; notify() lifts it; one file write per check", async () => {
    const device = board(boardFiles(config("same", { schedule: { min_interval_s: 3600 } }), "1.0.0"));
    const first = await device.run({ script: script() });
    expect(printed(first.output, "result")).toEqual({ ok: true, version: "1.0.0", installed: null });
    expect(requests()).toEqual([channelPath("same")]);
    expect(device.readText(".mpota/schedule")).toMatch(/^\d+ 0 1\.0\.0$/);

    fixture.server.requests.length = 0;
    const again = await device.run({ script: script() }); // a new boot: the interval is on flash
    expect(printed(again.output, "result")).toMatchObject({ ok: true, version: "1.0.0" });
    expect(printed(again.output, "result").deferred).toMatch(
      /^last check \d+ s ago; min_interval_s is 3600$/,
    );
    expect(requests()).toEqual([]);
    expect(again.flashOps).toBe(0);

    const notified = await device.run({
      script: script("[mpota.notify('1.1.0'), mpota.update()]"),
    });
    expect(printed(notified.output, "result")).toEqual([
      { ok: true, version: "1.0.0" },
      { ok: true, version: "1.0.0", installed: null },
    ]);
    expect(requests()).toEqual([channelPath("same")]);

    fixture.server.requests.length = 0;
    const later = await device.run({ script: script("mpota.update()", "import time\ntime.sleep(3600)") });
    expect(printed(later.output, "result")).toEqual({ ok: true, version: "1.0.0", installed: null });
    expect(requests()).toEqual([channelPath("same")]);
    // A check that goes out writes the time of the check: one file rewritten (open, write, close).
    expect(later.flashOps).toBe(3);
  });

  it("a power cut while the check's time is written: the board runs its release; the record is old, torn or new", async () => {
    const files = boardFiles(config("same", { schedule: { min_interval_s: 3600 } }), "1.0.0");
    // Flash operations of the write: open (truncating), write, close. Cut before the bytes are
    // written, the file is empty (no check recorded: the next call checks); cut after, it is complete.
    for (const [cutAt, recorded] of [
      [1, false],
      [2, false],
      [3, true],
    ] as const) {
      const device = board(files, { flash: { cutAt } });
      const cut = await device.run({ script: script(), maxReboots: 1 });
      expect(cut.resets).toEqual([{ cause: "cut", atOp: cutAt }]);
      expect(cut.output).toContain("running 1.0.0");
      fixture.server.requests.length = 0;
      const next = await device.run({ script: script() });
      if (recorded) {
        expect(printed(next.output, "result").deferred).toMatch(/^last check \d+ s ago/);
        expect(requests()).toEqual([]);
      } else {
        expect(printed(next.output, "result")).toEqual({ ok: true, version: "1.0.0", installed: null });
        expect(requests()).toEqual([channelPath("same")]);
      }
    }
  });

  it("window across midnight by the board's clock: closed at 14:00, open at 23:30 and 03:00", async () => {
    const schedule = { window: { start_hour: 22, end_hour: 5, utc_offset_min: 60 } };
    const files = boardFiles(config("same", { schedule }), "1.0.0");
    const closed = board(files, { clockMs: at(13) });
    const r = await closed.run({ script: script() });
    expect(printed(r.output, "result")).toEqual({
      ok: true,
      version: "1.0.0",
      deferred: "window 22:00-05:00 (UTC+60 min) is closed: board time 14:00",
    });
    expect(requests()).toEqual([]);
    expect(r.flashOps).toBe(0);
    for (const utcHour of [22.5, 2]) {
      const open = board(files, { clockMs: at(utcHour) });
      const o = await open.run({ script: script() });
      expect(printed(o.output, "result")).toEqual({ ok: true, version: "1.0.0", installed: null });
    }
  });

  it("no clock: says so instead of guessing; ntptime or the source's Date header set it", async () => {
    const schedule = { window: { start_hour: 1, end_hour: 2 } };
    const files = boardFiles(config("stable", { schedule }), "1.0.0");
    const noClock = board(files, { clockMs: Date.UTC(2000, 0, 1) });
    const r = await noClock.run({ script: script() });
    expect(printed(r.output, "result")).toEqual({
      ok: true,
      version: "1.0.0",
      deferred:
        "the board's clock is not set (no ntptime answer, no Date header from the source): it cannot tell whether the update window is open",
    });
    expect(requests()).toEqual([channelPath("stable")]); // the check itself, never a download

    const ntp = board(files, { clockMs: Date.UTC(2000, 0, 1), ntpMs: at(1, 30) });
    const n = await ntp.run({ script: script() });
    expect(printed(n.output, "result")).toMatchObject({ ok: true, installed: "1.1.0" });

    // The source's Date header sets the clock: an hour two hours from now is closed, whatever the time.
    const hour = (new Date().getUTCHours() + 2) % 24;
    const dated = boardFiles(
      config("stable", { schedule: { window: { start_hour: hour, end_hour: (hour + 1) % 24 } } }),
      "1.0.0",
    );
    fixture.server.rules.push({ path: channelPath("stable"), fault: { kind: "date" } });
    const byDate = board(dated, { clockMs: Date.UTC(2000, 0, 1) });
    const d = await byDate.run({ script: script("[mpota.update(), time.gmtime()[0]]", "import time") });
    const [result, year] = printed(d.output, "result");
    expect(result.deferred).toMatch(
      /^window \d\d:00-\d\d:00 \(UTC\+0 min\) is closed: board time \d\d:\d\d$/,
    );
    expect(year).toBe(new Date().getUTCFullYear());
  });

  it("defer_after_crashes: watchdog resets of the running release defer its updates; force=True goes on", async () => {
    const schedule = { defer_after_crashes: 2, rollout_percent: 0 };
    const device = board(boardFiles(config("stable", { schedule }), "1.0.0"));
    const hang = "import machine\nmachine.WDT(timeout=1000)\nwhile True:\n    pass";
    const update = `import mpota, json\nprint("result", json.dumps(mpota.update()))`;
    const first = await device.run({ script: update });
    expect(printed(first.output, "result").deferred).toMatch(/^rollout: /);
    for (let crash = 1; crash <= 2; crash++) {
      const r = await device.run({ script: hang, maxReboots: 0 });
      expect(r.resets).toEqual([{ cause: "wdt" }]);
      const next = await device.run({ script: update });
      if (crash < 2) expect(printed(next.output, "result").deferred).toMatch(/^rollout: /);
      else
        expect(printed(next.output, "result").deferred).toBe(
          "2 crashes of 1.0.0 (watchdog resets) since it was installed; updates wait (force=True overrides)",
        );
    }
    const forced = await device.run({ script: script("mpota.update(force=True)") });
    expect(printed(forced.output, "result")).toMatchObject({ ok: true, installed: "1.1.0" });
  });

  it("rollout_percent: a stable bucket per board from its id; outside it the board waits, a pinned version goes on", async () => {
    const bucketOf = (id: string) =>
      Math.floor((createHash("sha256").update(Buffer.from(id, "hex")).digest()[0]! * 100) / 256);
    const ids = ["a4cf12b3c4d5", "0011223344ff", "deadbeef0001", "c0ffee000002"];
    const schedule = { rollout_percent: 50 };
    for (const uniqueId of ids) {
      const device = board(boardFiles(config("stable", { schedule }), "1.0.0"), { uniqueId });
      const b = bucketOf(uniqueId);
      for (let i = 0; i < 2; i++) {
        const r = await device.run({ script: script("[mpota.update(), mpota.status()['version']]") });
        const [result] = printed(r.output, "result");
        if (b < 50 && i === 0) expect(result).toMatchObject({ installed: "1.1.0" });
        else if (b >= 50)
          expect(result.deferred).toBe(
            `rollout: 1.1.0 goes to boards in buckets below 50; this board is in bucket ${b}`,
          );
      }
    }
    expect(ids.map(bucketOf).some((b) => b < 50) && ids.map(bucketOf).some((b) => b >= 50)).toBe(true);
    const outside = ids.find((id) => bucketOf(id) >= 50)!;
    const pinned = board(boardFiles(config("stable", { schedule, pin: "1.1.0" }), "1.0.0"), {
      uniqueId: outside,
    });
    const p = await pinned.run({ script: script() });
    expect(printed(p.output, "result")).toMatchObject({ ok: true, installed: "1.1.0" });
  });
});

describe("status LED", () => {
  const CONNECTED = [0, 1, 0, 1, 0]; // from on: off, two blinks
  const SUCCESS = [1, 0, 1, 0, 1, 0];
  const levels = (pins: Array<[number, number]>) => pins.map(([, level]) => level);

  it("connecting, connected, a pulse per chunk and a blink per file, success; off at the end", async () => {
    const device = board(boardFiles(config("stable", { led: { pin: 2 } }), "1.0.0"));
    const r = await device.run({ script: script() });
    expect(printed(r.output, "result")).toMatchObject({ installed: "1.1.0" });
    const seen = levels(printed(r.output, "pins"));
    expect(seen.slice(0, 2)).toEqual([0, 1]); // off at set-up, on while connecting
    expect(seen.slice(2, 2 + CONNECTED.length)).toEqual(CONNECTED);
    expect(seen.slice(-SUCCESS.length)).toEqual(SUCCESS); // and off
    expect(seen.length).toBeGreaterThan(40); // the 3 KB file alone comes in several chunks
  });

  it("failure: ten fast blinks; active_low inverts every level; nothing new: connected only", async () => {
    fixture.server.rules.push({ path: /\/blobs\//, fault: { kind: "corrupt", at: 5 }, times: 100 });
    const failing = board(boardFiles(config("stable", { led: { pin: 2, active_low: true } }), "1.0.0"));
    const f = await failing.run({ script: script() });
    expect(printed(f.output, "result")).toMatchObject({ ok: false });
    const seen = levels(printed(f.output, "pins"));
    const FAILURE = Array.from({ length: 10 }, () => [1, 0]).flat();
    expect(seen.slice(0, 2)).toEqual([1, 0]);
    expect(seen.slice(-FAILURE.length)).toEqual(FAILURE.map((l) => 1 - l));

    const quiet = board(boardFiles(config("same", { led: { pin: 2 } }), "1.0.0"));
    const q = await quiet.run({ script: script() });
    const calm = levels(printed(q.output, "pins"));
    expect(calm.slice(0, 2)).toEqual([0, 1]); // then a toggle per chunk of the check
    expect(calm.slice(-CONNECTED.length)).toEqual(CONNECTED);
    expect(calm.length).toBeLessThan(2 + 4 + CONNECTED.length); // no success or failure
  });
});

describe("update watchdog", () => {
  it("fed through a slow download: the update completes", async () => {
    // The noise blob alone drips for 2 watchdog periods or more.
    const watchdogMs = Math.max(1000, scaled(1500));
    const everyMs = Math.ceil((2 * watchdogMs) / 768);
    fixture.server.rules.push({ path: /\/blobs\//, fault: { kind: "drip", everyMs }, times: 100 });
    const device = board(boardFiles(config("stable", { watchdog_ms: watchdogMs }), "1.0.0"));
    // Then the app feeds it through mpota.feed() (a hardware watchdog cannot be stopped) and ends at
    // the REPL, where it bites: the only reset.
    const feeding = `import time\nfor _ in range(6):\n    time.sleep_ms(${watchdogMs >> 1})\n    mpota.feed()\nprint('fed')`;
    const r = await device.run({
      script: `${script("mpota.update()")}\n${feeding}`,
      maxReboots: 0,
      timeoutMs: scaled(120_000),
    });
    expect(printed(r.output, "result")).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(r.output).toContain("\nfed");
    expect(r.resets).toEqual([{ cause: "wdt" }]);
    expect(r.wdtFeeds).toBeGreaterThan(100);
  });

  it("a stalled download: the watchdog resets the board, which still runs its release", async () => {
    fixture.server.rules.push({ path: /\/blobs\//, fault: { kind: "stall", after: 10 }, times: 100 });
    const device = board(boardFiles(config("stable", { watchdog_ms: 1000, timeout_s: 60 }), "1.0.0"));
    const r = await runCommand(device, "update", { maxReboots: 1, timeoutMs: scaled(60_000) });
    expect(r.resets).toEqual([{ cause: "wdt" }]);
    expect(r.output.split("\n").filter((l) => l === "running 1.0.0")).toHaveLength(2);
    expect(currentState(device.files())).toMatchObject({ slot: 0, state: "good", versions: ["1.0.0", null] });
  });
});

describe("log", () => {
  it("info: one line per step; debug: one per file too; error: the failure", async () => {
    const info = board(boardFiles(config("stable", { log: "info" }), "1.0.0"));
    const i = await info.run({ script: script() });
    expect(i.output).toContain(
      [
        "mpota: checking for a release",
        "mpota: downloading 1.1.0",
        "mpota: verified; committing",
        "mpota: installed 1.1.0",
      ].join("\n"),
    );
    expect(i.output).not.toContain("mpota: file ");
    const debug = board(boardFiles(config("stable", { log: "debug" }), "1.0.0"));
    const d = await debug.run({ script: script() });
    expect(d.output).toContain("mpota: file lib/big.py");
    fixture.server.rules.push({ path: channelPath("stable"), fault: { kind: "status", status: 403 } });
    const error = board(boardFiles(config("stable", { log: "error" }), "1.0.0"));
    const e = await error.run({ script: script() });
    expect(e.output).toMatch(/^mpota: update failed: \w+: .+$/m);
    expect(e.output).not.toContain("mpota: checking");
  });
});
