/** install.py when things go wrong: full flash, flash faults, damaged files, and the reset modes. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  buildRelease,
  bundledBoard,
  printed,
  publishPointer,
  runCommand,
  sameTree,
  serveStatic,
  slotTree,
  staticFixture,
  testApp,
} from "../../testing/board.ts";
import { currentState } from "../client/state-record.ts";
import type { VirtualDevice } from "../sim/index.ts";

const fixture = staticFixture(serveStatic);
const { project: PROJECT, key, site, config, board, release, publish, boardFiles } = fixture;

const v100 = testApp("1.0.0", { "lib/sensors/temp.py": "OFFSET = 1\n", "web/big.txt": "x".repeat(40_000) });
const v110 = testApp("1.1.0", {
  "lib/sensors/temp.py": "OFFSET = 2\n",
  "web/big.txt": "x".repeat(40_000),
  "migrate.py": 'with open("/data/migrated", "w") as f:\n    f.write("for 1.1.0")\n',
});

beforeAll(async () => {
  await fixture.start();
  release("1.0.0", v100);
  release("1.1.0", v110, { hooks: { post_update: "migrate.py" } });
  publish("stable", "1.1.0");
});
afterEach(fixture.closeBoards);
afterAll(fixture.close);

/** The board's state record and slot 0, which a failed update must leave exactly as they were. */
function untouched(device: VirtualDevice, before: Record<string, Uint8Array>) {
  const after = device.files();
  expect(currentState(after)).toEqual(currentState(before));
  expect(sameTree(slotTree(after, 0), v100)).toBe(true);
}

describe("install", () => {
  it("refuses before writing anything when the release does not fit in the free flash", async () => {
    const files = boardFiles(config("stable"), "1.0.0");
    // Room for the board's files (whole 4 KB blocks) and 12 blocks more: less than 1.1.0 needs.
    const used = Object.values(files).reduce((sum, data) => sum + Math.ceil(data.length / 4096) * 4096, 0);
    const device = board(files, { flash: { sizeBytes: used + 12 * 4096 } });
    const before = device.files();
    const r = await runCommand(device, "update");
    const result = printed(r.output, "update");
    expect(result.ok).toBe(false);
    expect(result.error.code).toBe("space");
    expect(result.error.message).toMatch(/^the release needs \d+ KB of flash, \d+ KB are free$/);
    untouched(device, before);
    expect(Object.keys(device.files()).some((p) => p.startsWith(".mpota/slot1"))).toBe(false);
  });

  it("a flash fault in the middle of an install is an error value; the board keeps its release and a retry works", async () => {
    const files = boardFiles(config("stable"), "1.0.0");
    // Count the operations of a clean update, then fail one in the middle of it: the first from the
    // middle on that the update itself meets (earlier ones may hit the test app's own file handling).
    const probe = board(files);
    const clean = await runCommand(probe, "update");
    let faultAt = Math.floor(clean.flashOps / 2);
    for (; faultAt < clean.flashOps; faultAt++) {
      const attempt = await runCommand(
        board(files, { flash: { faults: [{ at: faultAt, errno: "EIO" }] } }),
        "update",
      );
      if (printed(attempt.output, "update")?.error?.code === "io") break;
    }
    const device = board(files, { flash: { faults: [{ at: faultAt, errno: "EIO" }] } });
    const before = device.files();
    const r = await runCommand(device, "update");
    const result = printed(r.output, "update");
    expect(result).toMatchObject({ ok: false, error: { code: "io" } });
    expect(currentState(device.files())).toMatchObject({ slot: 0, state: "good", versions: ["1.0.0", null] });
    expect(sameTree(slotTree(device.files(), 0), slotTree(before, 0))).toBe(true);
    expect(JSON.parse(device.readText(".mpota/last_error.json")!)).toMatchObject({ code: "io" });
    const retry = await runCommand(device, "update");
    expect(retry.output).toContain("running 1.1.0");
    expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
    expect(device.readText(".mpota/last_error.json")).toBeUndefined();
  });

  it("a file of the running slot changed on the board is downloaded instead of copied", async () => {
    const files = boardFiles(config("stable"), "1.0.0");
    files[".mpota/slot0/web/big.txt"] = "changed by the app";
    const device = board(files);
    fixture.server.requests.length = 0;
    const r = await runCommand(device, "update");
    expect(r.output).toContain("running 1.1.0");
    expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
    const big = readFileSync(join(site, PROJECT, "releases", "1.1.0.json"), "utf8")
      .split("\n")
      .find((l) => l.includes('"path":"web/big.txt"'))!;
    const sha = /"sha256":"([0-9a-f]{64})"/.exec(big)![1];
    expect(fixture.server.requests).toContain(`/${PROJECT}/blobs/${sha}.z`);
  });

  it("a damaged blob is refused and nothing switches", async () => {
    const damagedSite = mkdtempSync(join(tmpdir(), "mpota-damaged-"));
    const damaged = await serveStatic(damagedSite);
    try {
      buildRelease(damagedSite, PROJECT, "1.0.0", v100, key);
      buildRelease(damagedSite, PROJECT, "1.1.0", v110, key);
      publishPointer(damagedSite, PROJECT, "stable", "1.1.0");
      const line = readFileSync(join(damagedSite, PROJECT, "releases", "1.1.0.json"), "utf8")
        .split("\n")
        .find((l) => l.includes('"path":"lib/sensors/temp.py"'))!;
      const sha = /"sha256":"([0-9a-f]{64})"/.exec(line)![1];
      const blob = join(damagedSite, PROJECT, "blobs", `${sha}.z`);
      const bytes = readFileSync(blob);
      const at = bytes.length - 6; // inside the deflate data or its checksum
      bytes[at] = bytes[at]! ^ 0x20;
      writeFileSync(blob, bytes);
      const cfg = config("stable", { source: { url: damaged.url } });
      const device = board(bundledBoard(damagedSite, cfg, "1.0.0"));
      const before = device.files();
      const r = await runCommand(device, "update");
      const result = printed(r.output, "update");
      expect(result.ok).toBe(false);
      expect(["blob", "sha256"]).toContain(result.error.code);
      expect(result.error.message).toContain("lib/sensors/temp.py");
      untouched(device, before);
    } finally {
      await damaged.close();
      rmSync(damagedSite, { recursive: true, force: true });
    }
  });

  it('reset_mode "none" installs and returns; the new release runs from the next boot, its post_update hook once', async () => {
    const device = board(boardFiles(config("stable", { reset_mode: "none" }), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(r.resets).toEqual([]);
    expect(printed(r.output, "update")).toMatchObject({ ok: true, version: "1.0.0", installed: "1.1.0" });
    expect(device.readText("data/migrated")).toBeUndefined();
    const pending = await runCommand(device, "update");
    expect(printed(pending.output, "update")).toMatchObject({ ok: false, error: { code: "trial" } });
    // The command above already booted 1.1.0 (on trial) and ran its hook.
    expect(pending.output).toContain("running 1.1.0");
    expect(device.readText("data/migrated")).toBe("for 1.1.0");
    const next = await device.run();
    expect(next.output).toContain("running 1.1.0");
    expect(currentState(device.files())).toMatchObject({ slot: 1, state: "trial", boots: 2 });
  });

  it("joins the config's Wi-Fi network first, and a network it cannot join is an error value", async () => {
    const wifi = { ssid: "lab", password: "pw" };
    const device = board(boardFiles(config("stable", { wifi }), "1.0.0"), { wifi });
    expect((await runCommand(device, "update")).output).toContain("running 1.1.0");
    const wrong = board(
      boardFiles(config("stable", { wifi: { ...wifi, password: "nope" }, timeout_s: 2 }), "1.0.0"),
      {
        wifi,
      },
    );
    const r = await runCommand(wrong, "update");
    expect(printed(r.output, "update")).toEqual({
      ok: false,
      error: { code: "wifi", message: "could not join Wi-Fi network lab within 2 s" },
    });
  });

  it('reset_mode "soft" restarts MicroPython into the new release', async () => {
    const device = board(boardFiles(config("stable", { reset_mode: "soft" }), "1.0.0"));
    const r = await runCommand(device, "update");
    expect(r.resets.map((x) => x.cause)).toEqual(["soft"]);
    expect(r.output).toContain("running 1.1.0");
  });

  it("update() again in the same boot after an install with reset_mode none says a switch is pending", async () => {
    const files = boardFiles(config("stable", { reset_mode: "none" }), "1.0.0");
    const device = board(files);
    const r = await device.run({
      boot: true,
      script:
        "import mpota, json\nprint('first', json.dumps(mpota.update()))\nprint('second', json.dumps(mpota.update()))",
    });
    expect(printed(r.output, "first")).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(printed(r.output, "second")).toEqual({
      ok: false,
      error: { code: "pending", message: "the board switches to 1.1.0 at the next boot: reset first" },
    });
  });
});
