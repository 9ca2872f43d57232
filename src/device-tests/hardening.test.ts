/**
 * What a hostile server and network tried on the device after the first round of attacks (issue 10):
 * a server that drips bytes, junk left on a small flash, two broken releases taking turns, values
 * that broke error messages, a version too long for the state record, credentials on a redirect,
 * unsigned pointers on a board that wants signed ones. Each ends in a clear refusal, the running
 * release keeps running, and nothing of the refused release stays on flash.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  boardTree,
  type ConfigExtra,
  devicePackage,
  faultFixture,
  printed,
  runCommand,
  sameTree,
  slotTree,
  testApp,
} from "../../testing/board.ts";
import { type FaultRule, type FaultServer, startFaultServer } from "../../testing/fault-proxy.ts";
import { currentState, encodeStateRecord, firstStateRecord } from "../client/state-record.ts";
import { channelPointer, envelopeBytes, sha256Hex, signEnvelope } from "../manifest/index.ts";
import type { VirtualDevice } from "../sim/index.ts";

const fixture = faultFixture();
const { project: PROJECT, key, paths, channelPath, releasePath, release, publish, boardFiles } = fixture;
let other: FaultServer;

const v100 = testApp("1.0.0");
/** A release that crashes in its post_update hook, so the loader takes the board back to 1.0.0. */
const crashing = (version: string) =>
  testApp(version, { "check.py": `raise ImportError("${version} finds no sensor")\n` });

const LONG = `1.1.0-${"a".repeat(2100)}`;

/** The bytes of a channel pointer with these fields, signed by `keys` (none: unsigned). */
function pointerBytes(fields: Record<string, unknown>, keys: Parameters<typeof signEnvelope>[1] = []) {
  return envelopeBytes(signEnvelope(fields, keys));
}

/** The fields of a pointer at release `version` of the site, with `extra` fields changed. */
function pointerTo(channel: string, version: string, extra: Record<string, unknown> = {}) {
  const envelope = readFileSync(paths.release(version));
  return { ...channelPointer({ channel, project: PROJECT, version, envelope }), ...extra };
}

function board(channel: string, extra: ConfigExtra = {}, flashBytes?: number): VirtualDevice {
  const config = fixture.config(channel, { timeout_s: 2, retries: 1, ...extra });
  return fixture.board(boardFiles(config, "1.0.0"), flashBytes ? { flash: { sizeBytes: flashBytes } } : {});
}

async function update(device: VirtualDevice, rules: FaultRule[] = [], cmd = "update", timeoutMs?: number) {
  fixture.server.rules.length = 0;
  fixture.server.requests.length = 0;
  fixture.server.rules.push(...rules);
  const r = await runCommand(device, cmd, { timeoutMs });
  return { r, result: printed(r.output, cmd) };
}

/** The files a board holds under /.mpota/tmp. */
const tmpFiles = (device: VirtualDevice) =>
  Object.keys(device.files()).filter((p) => p.startsWith(".mpota/tmp/"));

function expectUntouched(device: VirtualDevice, before: Record<string, Uint8Array>) {
  expect(currentState(device.files())).toEqual(currentState(before));
  expect(sameTree(slotTree(device.files(), 0), v100)).toBe(true);
  expect(tmpFiles(device)).toEqual([]);
}

beforeAll(async () => {
  release("1.0.0", v100);
  release("1.1.0", testApp("1.1.0", { "data.bin": randomBytes(4000) }));
  for (const v of ["1.2.0", "1.3.0"]) release(v, crashing(v), { hooks: { post_update: "check.py" } });
  const truncated = testApp("1.4.0", { "data.bin": randomBytes(4000) });
  release("1.4.0", truncated);
  const blob = paths.blob(sha256Hex(truncated["data.bin"]!));
  writeFileSync(blob, readFileSync(blob).subarray(0, 2000));
  publish("truncated", "1.4.0");
  // 1.1.0 again, signed under a version of 2,106 characters (as a careless release script could).
  const signed = JSON.parse(readFileSync(paths.release("1.1.0"), "utf8")).signed;
  writeFileSync(paths.release("long"), envelopeBytes(signEnvelope({ ...signed, version: LONG }, key)));
  publish("stable", "1.1.0");
  publish("same", "1.0.0");
  release("0.9.1", testApp("0.9.1"), { rollback: true });
  release("0.9.2", testApp("0.9.2"), { rollback: true, rollbackFrom: ["1.1.0", "1.1.1"] });
  release("0.9.3", testApp("0.9.3"), { rollback: true, rollbackFrom: ["1.0.0"] });
  for (const v of ["0.9.1", "0.9.2", "0.9.3"]) publish(`back-${v}`, v);
  other = await startFaultServer({ root: fixture.site });
  await fixture.start();
});

afterEach(async () => {
  await fixture.closeBoards();
  other.rules.length = 0;
  other.requests.length = 0;
});

afterAll(async () => {
  await other.close();
  await fixture.close();
});

describe("a slow drip (issue 10, item 6)", () => {
  it("a server dripping 1 byte/s ends the update within (retries + 1) × 2 × timeout_s plus the backoff", async () => {
    // An unsigned pointer claiming a 2 MiB envelope must not buy the drip more time either.
    const device = board("stable");
    const before = device.files();
    const started = Date.now();
    const { result } = await update(
      device,
      [
        {
          path: channelPath("stable"),
          fault: { kind: "body", body: pointerBytes(pointerTo("stable", "1.1.0", { size: 2 << 20 })) },
        },
        { path: releasePath("1.1.0"), fault: { kind: "drip", everyMs: 1000 }, times: 2 },
      ],
      "update",
      150_000,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(result.error.code).toBe("network");
    expect(result.error.message).toMatch(/too slow.*\(2 attempts\)$/);
    // Documented bound (docs/device.md): 2 attempts × 2 × 2 s + 1 s of backoff = 9 s; the rest is
    // slack for a loaded machine (before the fix one attempt took over 1000 s).
    expect(seconds).toBeLessThan(60);
    expectUntouched(device, before);
  }, 200_000);
});

describe("junk on a small flash (issue 10, item 7)", () => {
  it("a pointer claiming a 2 MiB envelope on a 1 MiB flash is refused before the download; the app can still write", async () => {
    const device = board("stable", {}, 1 << 20);
    const before = device.files();
    const { result } = await update(device, [
      {
        path: channelPath("stable"),
        fault: { kind: "body", body: pointerBytes(pointerTo("stable", "1.1.0", { size: 2 << 20 })) },
      },
      { path: releasePath("1.1.0"), fault: { kind: "body", body: randomBytes(2 << 20) } },
    ]);
    expect(result.error.code).toBe("space");
    expect(result.error.message).toMatch(
      /the 2097152-byte envelope does not fit the \d+ bytes of free flash$/,
    );
    expect(fixture.server.requests.map((q) => q.path)).toEqual([channelPath("stable")]);
    expectUntouched(device, before);
    const write = await device.run({
      boot: false,
      script: 'with open("/data/log.bin", "wb") as f:\n    f.write(bytes(400000))\nprint("wrote")',
    });
    expect(write.output).toContain("wrote");
  });

  it("what a power cut left in /.mpota/tmp is removed before the next download needs the room", async () => {
    const config = fixture.config("stable", { timeout_s: 2, retries: 1 });
    const base = boardFiles(config, "1.0.0");
    // Junk that fits the flash but leaves half the room the new slot needs (the running slot's size):
    // only removing it lets the update through, however large the package grows.
    const blocks = (n: number) => Math.ceil(n / 4096) * 4096;
    const used = Object.values(base).reduce((n, data) => n + blocks(data.length), 0);
    const slot = Object.entries(base)
      .filter(([path]) => path.startsWith(".mpota/slot0/"))
      .reduce((n, [, data]) => n + blocks(data.length), 0);
    const junk = (1 << 20) - used - blocks(slot / 2);
    expect(slot).toBeGreaterThan(0);
    expect(junk).toBeGreaterThan(slot / 2);
    const files = { ...base, [`.mpota/tmp/${"0".repeat(64)}.z`]: randomBytes(junk) };
    const device = fixture.board(files, { flash: { sizeBytes: 1 << 20 } });
    const { r } = await update(device);
    expect(r.output).toContain("running 1.1.0");
    expect(tmpFiles(device)).toEqual([]);
  });

  it("an envelope refused for its sha256 leaves nothing in /.mpota/tmp", async () => {
    const device = board("stable", {}, 1 << 20);
    const before = device.files();
    const junk = randomBytes(100_000);
    const { result } = await update(device, [
      {
        path: channelPath("stable"),
        fault: { kind: "body", body: pointerBytes(pointerTo("stable", "1.1.0", { size: junk.length })) },
      },
      { path: releasePath("1.1.0"), fault: { kind: "body", body: junk } },
    ]);
    expect(result.error.code).toBe("sha256");
    expectUntouched(device, before);
  });

  it("a truncated zlib blob is a bad blob (not an internal error), and leaves nothing in /.mpota/tmp (item 13)", async () => {
    const device = board("truncated");
    const before = device.files();
    const { result } = await update(device);
    expect(result.error.code).toBe("blob");
    expect(result.error.message).toMatch(/^data\.bin: the download is not a valid zlib stream/);
    expectUntouched(device, before);
  });
});

describe("values that broke messages and records (issue 10, item 13)", () => {
  it("a deeply nested value in the pointer is named in a clear refusal", async () => {
    const device = board("stable");
    const before = device.files();
    const deep = `${"[".repeat(1800)}${"]".repeat(1800)}`;
    const body = Buffer.from(
      pointerBytes(pointerTo("stable", "1.1.0"))
        .toString()
        .replace(`"project":"${PROJECT}"`, `"project":${deep}`),
    );
    const { result } = await update(device, [{ path: channelPath("stable"), fault: { kind: "body", body } }]);
    expect(result.error).toEqual({
      code: "project",
      message: "the channel pointer is for project (a list), this board runs greenhouse",
    });
    expectUntouched(device, before);
  });

  it("a signed version longer than 256 characters is refused (the state record could not hold it)", async () => {
    const device = board("stable");
    const before = device.files();
    const envelope = readFileSync(paths.release("long"));
    const pointer = {
      channel: "stable",
      project: PROJECT,
      release: "releases/long.json",
      sha256: sha256Hex(envelope),
      size: envelope.length,
      version: LONG,
    };
    const { result } = await update(device, [
      { path: channelPath("stable"), fault: { kind: "body", body: pointerBytes(pointer) } },
    ]);
    expect(result.error).toEqual({ code: "manifest", message: "malformed channel pointer" });
    expectUntouched(device, before);
  });

  it("a version longer than 256 characters from any source (a git tag here) is refused before a download", async () => {
    const tag = `v1-${"t".repeat(300)}`;
    const config = {
      project: PROJECT,
      keys: [],
      source: { type: "github", api: "http://127.0.0.1:9/api", repo: "acme/app", tag },
    };
    const files = boardTree({
      slots: [v100, null],
      record: firstStateRecord("1.0.0"),
      config,
      files: { "data/keep": "" },
    });
    const device = fixture.board(files, { net: false });
    const r = await runCommand(device, "check");
    expect(printed(r.output, "check").error).toEqual({
      code: "version",
      message: "the source names a version of 303 characters; at most 256 are accepted",
    });
  });

  it("the loader reads the longest state record the board writes (versions of 256 characters)", async () => {
    const v = (tag: string) => `1.0.0-${tag.repeat(250)}`;
    const record = {
      ...firstStateRecord(v("a")),
      versions: [v("a"), v("b")] as [string, string],
      failed: v("c"),
      why: "日".repeat(160),
      back_hook: `/.mpota/slot1/${'"'.repeat(255)}`,
      failed_ids: Array(8).fill("0123456789abcdef"),
    };
    expect(encodeStateRecord(record).length).toBeGreaterThan(2048);
    const device = fixture.board(boardTree({ slots: [v100, null], record }), { net: false });
    const r = await device.run();
    expect(r.output).toContain("running 1.0.0");
    expect(printed(r.output, "status")).toMatchObject({ version: v("a"), failed: v("c") });
  });
});

describe("smaller leaks (issue 10, item 14)", () => {
  it("a redirect to another host drops the token, the device id and every other credential-like header", async () => {
    fixture.server.requests.length = 0;
    fixture.server.rules.push({
      path: "/p/moved",
      fault: { kind: "redirect", to: `http://cdn.example:${other.port}/${PROJECT}/channels/same.json` },
    });
    const device = fixture.board(devicePackage(), { hosts: { "cdn.example": "127.0.0.1" } });
    const r = await device.run({
      boot: false,
      script: `from mpota import http
http.configure(2, 0, None)
print("got", http.get_small("${fixture.server.url}/p/moved", {"Authorization": "Bearer s3cret", "X-Mpota-Device": "dev-7", "Cookie": "s=1", "X-Api-Key": "k", "Accept": "application/json"})[0])`,
    });
    expect(r.output).toContain("got 200");
    expect(fixture.server.requests[0]!.headers).toMatchObject({
      authorization: "Bearer s3cret",
      "x-mpota-device": "dev-7",
    });
    const sent = other.requests[0]!.headers;
    expect(Object.keys(sent).sort()).toEqual(["accept", "host"]);
  });

  it("status() stops showing a network error once a later check succeeds", async () => {
    const device = board("same");
    const failed = await update(device, [
      { path: channelPath("same"), fault: { kind: "status", status: 500 }, times: 2 },
    ]);
    expect(failed.result.error.code).toBe("network");
    expect(printed((await device.run()).output, "status").last_error).toMatchObject({ code: "network" });
    const ok = await update(device);
    expect(ok.result).toEqual({ ok: true, version: "1.0.0", installed: null });
    expect(printed((await device.run()).output, "status").last_error).toBeNull();
    await update(device, [{ path: channelPath("same"), fault: { kind: "status", status: 500 }, times: 2 }]);
    const check = await update(device, [], "check");
    expect(check.result).toEqual({ ok: true, version: "1.0.0", available: null });
    expect(printed((await device.run()).output, "status").last_error).toBeNull();
  });
});

describe("two broken releases taking turns (issue 10, item 8)", () => {
  it("neither is installed a second time: no crash loop", async () => {
    const device = board("alternate");
    const installs: string[] = [];
    for (const version of ["1.2.0", "1.3.0", "1.2.0", "1.3.0"]) {
      publish("alternate", version);
      const { r, result } = await update(device);
      if (r.resets.length > 0) installs.push(version);
      expect(result === undefined || result.installed === null || result.installed === version).toBe(true);
      expect((await device.run()).output).toContain("running 1.0.0");
    }
    expect(installs).toEqual(["1.2.0", "1.3.0"]);
    expect(currentState(device.files())).toMatchObject({
      slot: 0,
      versions: ["1.0.0", "1.3.0"],
      failed: "1.3.0",
    });
  });

  it("remembers at most the last 8 failed releases", async () => {
    const device = fixture.board(boardFiles(fixture.config("same"), "1.0.0"));
    const r = await device.run({
      boot: false,
      script: `import json, sys
sys.path.insert(0, "/.mpota/slot0/lib")
from mpota import state
rec = state.load()
for i in range(12):
    rec["failed"] = "2.0.%d" % i
    rec = state.commit_trial(rec, 1, "3.0.%d" % i, {"trial": {"max_boots": 3, "watchdog_ms": 0, "auto_confirm_s": 0}}, None, None)
print("kept", json.dumps([state.failed_here(rec, "2.0.%d" % i) for i in range(12)]))`,
    });
    expect(printed(r.output, "kept"), r.output).toEqual([...Array(4).fill(false), ...Array(8).fill(true)]);
  });
});

describe("a board that takes signed channel pointers only (issue 10, item 12)", () => {
  it("refuses an unsigned pointer (so expires is a full freeze defence), takes a signed one", async () => {
    const device = board("stable", { signed_pointer: true });
    const before = device.files();
    const refused = await update(device);
    expect(refused.result.error).toEqual({
      code: "signature",
      message: "the channel pointer is not signed, and this board takes signed ones only (signed_pointer)",
    });
    expectUntouched(device, before);
    const signed = pointerBytes(pointerTo("stable", "1.1.0", { expires: "2099-01-01T00:00:00Z" }), key);
    const { r } = await update(device, [
      { path: channelPath("stable"), fault: { kind: "body", body: signed } },
    ]);
    expect(r.output).toContain("running 1.1.0");
  });
});

describe("rollback releases bound to what they replace (issue 10, item 10)", () => {
  it("refuses a rollback release that does not name the running version, installs one that does", async () => {
    const device = board("back-0.9.1");
    const before = device.files();
    const unbound = await update(device);
    expect(unbound.result.error).toEqual({
      code: "version",
      message: "0.9.1 is a rollback release from no release only, not from the running 1.0.0",
    });
    expectUntouched(device, before);
    const other = board("back-0.9.2");
    const elsewhere = await update(other);
    expect(elsewhere.result.error).toEqual({
      code: "version",
      message: "0.9.2 is a rollback release from 1.1.0, 1.1.1 only, not from the running 1.0.0",
    });
    expectUntouched(other, before);
    const bound = await update(board("back-0.9.3"));
    expect(bound.r.output).toContain("running 0.9.3");
  });
});
