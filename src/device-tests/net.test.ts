/**
 * Updates over a faulty network (DESIGN.md §6): a board on 1.0.0 updates to 1.1.0 from a loopback static
 * site through fault-proxy.ts. Recoverable faults are retried or resumed and the install is exact;
 * the others fail cleanly (the running release untouched) and the next update succeeds.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultFixture, printed, runCommand, sameTree, slotTree, testApp } from "../../testing/board.ts";
import type { FaultRule } from "../../testing/fault-proxy.ts";
import { currentState } from "../client/state-record.ts";
import { VirtualDevice } from "../sim/index.ts";

const fixture = faultFixture();
const { project: PROJECT, release, publish, boardFiles } = fixture;

const v100 = testApp("1.0.0", { "lib/sensors/temp.py": "OFFSET = 1\n", "assets/page.html": "<h1>hi</h1>\n" });
const v110 = testApp("1.1.0", {
  "lib/sensors/temp.py": `OFFSET = 2\n# ${"calibration table ".repeat(200)}\n`,
  "assets/page.html": "<h1>hi</h1>\n",
  "lib/new/deep/mod.py": `ADDED = True\n${"x = 1\n".repeat(300)}`,
});

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const blob = (path: string) => `/${PROJECT}/blobs/${sha(v110[path]!)}.z`;
const POINTER = `/${PROJECT}/channels/stable.up`; // the check answer, which a board asks for first
const RELEASE = `/${PROJECT}/releases/1.1.0.json`;

beforeAll(async () => {
  release("1.0.0", v100);
  release("1.1.0", v110);
  publish("stable", "1.1.0");
  await fixture.start();
});

afterAll(fixture.close);

function board(): VirtualDevice {
  const config = fixture.config("stable", { timeout_s: 1, retries: 3 });
  return new VirtualDevice({ files: boardFiles(config, "1.0.0") });
}

/** Runs update() with `rules` in force; -> the update's result and the board (still open). */
async function update(device: VirtualDevice, rules: FaultRule[]) {
  fixture.server.rules.length = 0;
  fixture.server.requests.length = 0;
  fixture.server.rules.push(...rules);
  const r = await runCommand(device, "update");
  return { r, result: printed(r.output, "update") };
}

function expectInstalled(device: VirtualDevice, output: string) {
  expect(output).toContain("running 1.1.0");
  expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
  expect(currentState(device.files())).toMatchObject({
    slot: 1,
    state: "trial",
    versions: ["1.0.0", "1.1.0"],
  });
}

async function expectUntouched(device: VirtualDevice, before: Record<string, Uint8Array>) {
  expect(currentState(device.files())).toEqual(currentState(before));
  expect(sameTree(slotTree(device.files(), 0), v100)).toBe(true);
  expect((await device.run()).output).toContain("running 1.0.0");
}

describe("update over a faulty network", () => {
  it("retries and resumes through 503, truncation, reset, stall, extra bytes and an ignored Range", async () => {
    const device = board();
    try {
      const { r } = await update(device, [
        { path: POINTER, fault: { kind: "status", status: 503, retryAfter: 2 } },
        { path: RELEASE, fault: { kind: "truncate", after: 700 } },
        { path: blob("main.py"), fault: { kind: "reset", after: 100 } },
        { path: blob("lib/sensors/temp.py"), fault: { kind: "stall", after: 40 } },
        { path: blob("lib/new/deep/mod.py"), fault: { kind: "truncate", after: 20 } },
        { path: blob("lib/new/deep/mod.py"), fault: { kind: "ignoreRange" } },
        { path: RELEASE, fault: { kind: "extra", bytes: 10 } },
      ]);
      expectInstalled(device, r.output);
      const seen = fixture.server.requests.map((q) => [q.path, q.fault ?? q.status]);
      expect(seen.filter(([p]) => p === POINTER)).toEqual([
        [POINTER, "status"],
        [POINTER, 200],
      ]);
      // The envelope resumed after its truncation; the resumed part lied about its length, so it
      // came whole again.
      expect(
        fixture.server.requests.filter((q) => q.path === RELEASE).map((q) => q.headers.range ?? "-"),
      ).toEqual(["-", "bytes=700-", "-"]);
      expect(fixture.server.rules).toEqual([]);
    } finally {
      await device.close();
    }
  });

  it("a corrupted byte in a blob fails the install (sha256), the next update succeeds", async () => {
    const device = board();
    try {
      const before = device.files();
      const { result } = await update(device, [
        { path: blob("lib/sensors/temp.py"), fault: { kind: "corrupt", at: 30 } },
      ]);
      expect(result.ok).toBe(false);
      expect(["sha256", "blob"]).toContain(result.error.code);
      expect(result.error.message).toMatch(/^lib\/sensors\/temp\.py: /);
      await expectUntouched(device, before);
      const again = await update(device, []);
      expectInstalled(device, again.r.output);
      // The pointer had not changed (304 to the saved ETag): the board still knew what to install.
      expect(fixture.server.requests[0]).toMatchObject({ path: POINTER, status: 304 });
      expect(fixture.server.requests[0]!.headers["if-none-match"]).toMatch(/^"[0-9a-f]{16}"$/);
    } finally {
      await device.close();
    }
  });

  it("a corrupted byte in the envelope fails its check against the channel pointer", async () => {
    const device = board();
    try {
      const before = device.files();
      const { result } = await update(device, [{ path: RELEASE, fault: { kind: "corrupt", at: 400 } }]);
      expect(result.error.code).toBe("sha256");
      expect(result.error.message).toMatch(/does not match the sha256 of the channel pointer$/);
      await expectUntouched(device, before);
    } finally {
      await device.close();
    }
  });

  it("a redirect loop and a dead server fail with clear errors, nothing changes", async () => {
    const device = board();
    try {
      const before = device.files();
      const loop = await update(device, [{ path: POINTER, fault: { kind: "redirect", to: POINTER } }]);
      expect(loop.result.error).toEqual({
        code: "redirect",
        message: `${fixture.server.url}/${PROJECT}/channels/stable.up: redirect loop or more than 5 redirects`,
      });
      const dead = await update(device, [
        { path: blob("main.py"), fault: { kind: "reset", after: 0 }, times: 4 },
      ]);
      expect(dead.result.error.code).toBe("network");
      expect(dead.result.error.message).toMatch(/\(4 attempts\)$/);
      await expectUntouched(device, before);
    } finally {
      await device.close();
    }
  });
});
