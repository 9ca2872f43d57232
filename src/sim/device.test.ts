import { afterEach, describe, expect, it } from "vitest";
import { deviceTracker, scaled } from "../../testing/sim.ts";

const { device, closeAll } = deviceTracker();
afterEach(closeAll);

/** main.py that counts its boots in the file "boots" and records machine.reset_cause(), then does `then`. */
const countingMain = (then: string) => `
import machine
try:
    n = int(open("boots").read())
except OSError:
    n = 0
with open("boots", "w") as f:
    f.write(str(n + 1))
with open("causes", "a") as f:
    f.write("%d " % machine.reset_cause())
${then}
`;

describe("VirtualDevice boot", () => {
  it("runs boot.py then main.py and captures their output", async () => {
    const dev = device({ files: { "boot.py": "print('boot')", "main.py": "print('main', 6 * 7)" } });
    const r = await dev.run();
    expect(r).toMatchObject({ ok: true, end: "returned", reboots: 0, resets: [] });
    expect(r.output).toBe("boot\nmain 42");
  });

  it("runs `script` after boot.py instead of main.py, and only the script with boot: false", async () => {
    const files = { "boot.py": "print('boot')", "main.py": "print('main')" };
    const lines: string[] = [];
    const r = await device({ files }).run({ script: "print('script')", onOutput: (l) => lines.push(l) });
    expect(r.output).toBe("boot\nscript");
    expect(lines).toEqual(["boot", "script"]);
    const alone = await device({ files }).run({ script: "print('script')", boot: false });
    expect(alone.output).toBe("script");
  });

  it("gives the board's identity and firmware modules", async () => {
    const r = await device({ uniqueId: "0a1b2c3d4e5f" }).run({
      boot: false,
      script: `
import machine, os, sys
print(machine.unique_id().hex(), machine.reset_cause() == machine.PWRON_RESET)
print(os.uname()[0], sorted(os.listdir("/")))
import esp32
print(esp32.Partition(esp32.Partition.RUNNING).info()[4])
`,
    });
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toBe("0a1b2c3d4e5f True\nesp32 []\nfactory");
  });

  it("Pin records its levels, ADC reads the volts a script sets, the clock starts unset and ntptime or RTC set it; WDT feeds are counted", async () => {
    const dev = device({ clockMs: Date.UTC(2000, 0, 1), ntpMs: Date.UTC(2026, 11, 6, 1, 30) });
    const r = await dev.run({
      boot: false,
      script: `
import machine, time, ntptime
led = machine.Pin(2, machine.Pin.OUT, value=0)
led.on(); led.toggle(); led.value(1)
print([level for _, level in machine.pin_levels[2]])
adc = machine.ADC(machine.Pin(34))
machine.adc_volts[34] = 1.2
print(adc.read_uv(), adc.read_u16())
print(time.gmtime()[0])
t0 = time.ticks_ms()
ntptime.settime()
print(time.gmtime()[:5], time.ticks_diff(time.ticks_ms(), t0) < 1000)
machine.RTC().datetime((2025, 3, 4, 0, 5, 6, 7, 0))
print(time.gmtime()[:6])
wdt = machine.WDT(timeout=5000)
for _ in range(3):
    wdt.feed()
`,
      maxReboots: 0,
    });
    expect(r.output.split("\n").slice(0, 5)).toEqual([
      "[0, 1, 0, 1]",
      "1200000 23831",
      "2000",
      "(2026, 12, 6, 1, 30) True",
      "(2025, 3, 4, 5, 6, 7)",
    ]);
    expect(r.wdtFeeds).toBe(3);
    // No NTP answer without the network.
    const offline = await device({ net: false, ntpMs: Date.now() }).run({
      boot: false,
      script:
        "import ntptime\ntry:\n    ntptime.settime()\nexcept OSError as e:\n    print('no answer', e.errno)",
    });
    expect(offline.output).toBe("no answer 110");
  });

  it("ends with ok false and the exception line when main.py raises", async () => {
    const dev = device({ files: { "main.py": "print('before')\nraise ValueError('bad config')" } });
    const r = await dev.run();
    expect(r).toMatchObject({ ok: false, end: "returned", reboots: 0, error: "ValueError: bad config" });
    expect(r.output).toContain("before\nTraceback (most recent call last):");
    expect(r.output).toContain('File "/main.py", line 2');
  });

  it("an exception in boot.py is reported and main.py still runs, as on a board", async () => {
    const dev = device({ files: { "boot.py": "1/0", "main.py": "print('main ran')" } });
    const r = await dev.run();
    expect(r.output).toContain("ZeroDivisionError");
    expect(r.output).toContain("main ran");
    expect(r.ok).toBe(false);
  });
});

describe("reboot loop", () => {
  it("machine.reset() reboots and main.py runs again, up to maxReboots", async () => {
    const dev = device({ files: { "main.py": countingMain("machine.reset()") } });
    const r = await dev.run({ maxReboots: 3 });
    expect(r).toMatchObject({ ok: true, end: "reboots", reboots: 3 });
    expect(r.resets).toEqual([
      { cause: "reset" },
      { cause: "reset" },
      { cause: "reset" },
      { cause: "reset" },
    ]);
    expect(dev.readText("boots")).toBe("4");
    expect(dev.readText("causes")).toBe("1 2 2 2 ");
  });

  it("a later run() continues from the flash the last one left", async () => {
    const dev = device({ files: { "main.py": countingMain("if n < 2:\n    machine.reset()") } });
    const first = await dev.run();
    expect(first).toMatchObject({ ok: true, end: "returned", reboots: 2 });
    const second = await dev.run();
    expect(second).toMatchObject({ ok: true, end: "returned", reboots: 0 });
    expect(dev.readText("boots")).toBe("4");
  });

  it("soft_reset() and SystemExit are soft resets", async () => {
    const then = `
if n == 0:
    machine.soft_reset()
if n == 1:
    raise SystemExit
`;
    const dev = device({ files: { "main.py": countingMain(then) } });
    const r = await dev.run();
    expect(r).toMatchObject({ ok: true, end: "returned", reboots: 2 });
    expect(r.resets).toEqual([{ cause: "soft" }, { cause: "soft" }]);
    expect(dev.readText("causes")).toBe("1 5 5 ");
  });

  it("deepsleep(ms) reboots with DEEPSLEEP_RESET after the virtual clock moved on", async () => {
    const then = `
import time
with open("t", "a") as f:
    f.write("%d " % time.time())
if n == 0:
    machine.deepsleep(3600 * 1000)
`;
    const dev = device({ files: { "main.py": countingMain(then) } });
    const t0 = Date.now();
    const r = await dev.run();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r).toMatchObject({ ok: true, reboots: 1, resets: [{ cause: "deepsleep" }] });
    expect(dev.readText("causes")).toBe("1 4 ");
    const [before, after] = dev.readText("t")!.trim().split(" ").map(Number) as [number, number];
    expect(after - before).toBeGreaterThanOrEqual(3600);
    expect(after - before).toBeLessThan(3610);
  });

  it("time.sleep advances the virtual clock without waiting", async () => {
    const r = await device().run({
      boot: false,
      script: `
import time
t, ms = time.time(), time.ticks_ms()
time.sleep(600)
time.sleep_ms(500)
# ticks also follow real time, so allow a few (busy-machine) real seconds on top
print(time.time() - t >= 600, 600500 <= time.ticks_diff(time.ticks_ms(), ms) < 605500)
`,
      timeoutMs: 5000,
    });
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toBe("True True");
  });

  it("sleepScale makes sleeps also take real time", async () => {
    const t0 = Date.now();
    const r = await device({ sleepScale: 1 }).run({ boot: false, script: "import time\ntime.sleep(0.25)" });
    expect(r.ok, r.output).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it("a watchdog kills a device spinning in `while True: pass` and reboots it", async () => {
    const then = `
if n == 0:
    wdt = machine.WDT(timeout=200)
    while True:
        pass
print("recovered")
`;
    const dev = device({ files: { "main.py": countingMain(then) } });
    const t0 = Date.now();
    const r = await dev.run({ timeoutMs: 10_000 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r).toMatchObject({ ok: true, end: "returned", reboots: 1, resets: [{ cause: "wdt" }] });
    expect(r.output).toBe("recovered");
    expect(dev.readText("causes")).toBe("1 3 ");
  });

  it("a fed watchdog does not bite; one left armed after main.py returns does", async () => {
    const then = `
if n == 0:
    import time
    wdt = machine.WDT(timeout=1000)
    for i in range(5):
        time.sleep_ms(600)
        wdt.feed()
    print("fed")
`;
    const dev = device({ files: { "main.py": countingMain(then) } });
    const r = await dev.run();
    expect(r.output).toBe("fed");
    expect(r.resets).toEqual([{ cause: "wdt" }]);
    expect(r.reboots).toBe(1);
    expect(dev.readText("boots")).toBe("2");
  });

  it("a watchdog that is not fed bites inside a sleep", async () => {
    const then = `
if n == 0:
    import time
    wdt = machine.WDT(timeout=1000)
    time.sleep(5)
    print("not reached")
`;
    const r = await device({ files: { "main.py": countingMain(then) } }).run();
    expect(r.output).toBe("");
    expect(r.resets).toEqual([{ cause: "wdt" }]);
  });

  it("a run that never ends stops at its time limit", async () => {
    const t0 = Date.now();
    const r = await device().run({ boot: false, script: "while True:\n    pass", timeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r).toMatchObject({ ok: false, end: "timeout", error: "time limit reached" });
  });
});

describe("closing", () => {
  it("close() during a run ends that run at once", async () => {
    const dev = device();
    const t0 = Date.now();
    // "At once": within a few seconds (scaled on a busy machine), far below the run's own time limit.
    const running = dev.run({ boot: false, script: "while True:\n    pass", timeoutMs: 600_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await dev.close();
    const r = await running;
    expect(Date.now() - t0).toBeLessThan(scaled(3000));
    expect(r).toMatchObject({ ok: false, end: "error", error: "device closed" });
  });

  it("close() while the device's worker is still starting ends the run too", async () => {
    const dev = device();
    const running = dev.run({ boot: false, script: "while True:\n    pass", timeoutMs: 600_000 });
    await dev.close(); // before the worker answered: the run must not go on spinning
    expect(await running).toMatchObject({ ok: false, end: "error", error: "device closed" });
  });
});

describe("measurements", () => {
  it("heapAllocated counts what the device code allocated", async () => {
    const small = await device().run({ boot: false, script: "x = 1" });
    const big = await device().run({ boot: false, script: "b = bytearray(100000)" });
    expect(small.heapAllocated).toBeLessThan(2000);
    expect(big.heapAllocated).toBeGreaterThanOrEqual(100_000);
    expect(big.heapAllocated).toBeLessThan(110_000);
  });
});
