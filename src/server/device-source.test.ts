/**
 * The device's `server` source (device/mpota/src_server.py) on a virtual board against a real
 * server: it honours 429 + Retry-After, and says clearly when its token is refused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appTree, buildRelease, bundledBoard, makeSigningKey, printed } from "../../testing/board.ts";
import { startTestServer, type TestServer } from "../../testing/server.ts";
import { VirtualDevice } from "../sim/index.ts";
import { AdminClient, publishRelease, releaseFromFolder } from "./admin-client.ts";

const key = makeSigningKey();
const site = mkdtempSync(join(tmpdir(), "mpota-source-site-"));
const statuses: number[] = [];
let s: TestServer;
let url: string;
let admin: AdminClient;

const twoChecks = `import mpota, json, time
print("first", json.dumps(mpota.check()))
t = time.ticks_ms()
print("second", json.dumps(mpota.check()))
print("waited", time.ticks_diff(time.ticks_ms(), t))
`;

const updateOnce = `import mpota, json
print("update", json.dumps(mpota.update()))
`;
const confirmOnce = `import mpota, json
print("confirm", json.dumps(mpota.confirm()))
`;

async function board(id: string, token: string, extra: Record<string, unknown> = {}): Promise<VirtualDevice> {
  const config = {
    project: "p",
    keys: [key.publicHex],
    source: { type: "server", url, device_id: id, token },
    ...extra,
  };
  return new VirtualDevice({ files: bundledBoard(site, config, "1.0.0") });
}

beforeAll(async () => {
  // The board sleeps on a virtual clock, so the server's clock moves 1 s per reading instead: the
  // second check (1 s after the first) is 429 with Retry-After 1, the retry (2 s after) passes.
  let clock = Date.now();
  s = await startTestServer("sqlite", { limits: { checkinIntervalMs: 2000 }, now: () => (clock += 1000) });
  s.app.addHook("onResponse", async (request, reply) => {
    if (request.url.startsWith("/d/p/channels/")) statuses.push(reply.statusCode);
  });
  await s.app.listen({ port: 0, host: "127.0.0.1" });
  url = `http://127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
  admin = new AdminClient(url, s.adminToken);
  await admin.request("POST", "/projects", { name: "p" });
  await admin.request("POST", "/projects/p/keys", { publicKey: key.publicHex });
  for (const version of ["1.0.0", "1.1.0"]) {
    buildRelease(site, "p", version, appTree(`print("running ${version}")\n`), key);
    await publishRelease(admin, await releaseFromFolder(site, "p", version), { project: "p" });
  }
  // 1.2.0 lacks the mpota package: a board running from its slots refuses to install it.
  buildRelease(site, "p", "1.2.0", { "main.py": 'print("running 1.2.0")\n' }, key);
  await publishRelease(admin, await releaseFromFolder(site, "p", "1.2.0"), { project: "p" });
  await admin.request("PUT", "/projects/p/channels/stable", { version: "1.1.0" });
});

afterAll(async () => {
  await s?.close();
  rmSync(site, { recursive: true, force: true });
});

describe("the server source on a virtual board", () => {
  it("checks in with its credentials and waits out a 429 with Retry-After", async () => {
    const { token } = await admin.request<{ token: string }>("POST", "/projects/p/devices", { id: "b1" });
    const device = await board("b1", token);
    try {
      statuses.length = 0;
      const r = await device.run({ script: twoChecks, timeoutMs: 30_000 });
      expect(printed(r.output, "first")).toEqual({ ok: true, version: "1.0.0", available: "1.1.0" });
      expect(printed(r.output, "second")).toEqual({ ok: true, version: "1.0.0", available: "1.1.0" });
      // the second check sends the ETag of the first answer: 304 once it gets through
      expect(statuses).toEqual([200, 429, 304]);
      expect(printed(r.output, "waited")).toBeGreaterThanOrEqual(1000);
      await s.flush();
      const seen = await admin.request<{ version: string; state: string; lastSeen: string }>(
        "GET",
        "/projects/p/devices/b1",
      );
      expect(seen).toMatchObject({ version: "1.0.0", state: "good" });
    } finally {
      await device.close();
    }
  });

  it("records downloading and confirmed (no installed report without a note), and a failed install with its reason", async () => {
    const { token } = await admin.request<{ token: string }>("POST", "/projects/p/devices", { id: "r1" });
    const events = async () => {
      await s.flush();
      const { events } = await admin.request<{
        events: Array<{ version: string; event: string; error: string }>;
      }>("GET", "/projects/p/devices/r1");
      return events;
    };
    // reset_mode none: the update returns, the next run boots the new release on trial
    const device = await board("r1", token, { reset_mode: "none" });
    try {
      const update = await device.run({ script: updateOnce, timeoutMs: 30_000 });
      expect(printed(update.output, "update")).toMatchObject({ ok: true, installed: "1.1.0" });
      const trial = await device.run({ script: confirmOnce, timeoutMs: 30_000 });
      expect(printed(trial.output, "confirm")).toEqual({ ok: true, version: "1.1.0" });
      // The server sees the download (the check answer brought the pack); the board's next word is its
      // confirmed report: an install without a patch that fell back is not worth a request of its own.
      const seen = (await events()).filter((e) => e.version === "1.1.0").map((e) => [e.event, e.error]);
      expect(seen).toEqual(
        expect.arrayContaining([
          ["downloading", null],
          ["confirmed", null],
        ]),
      );
      expect(seen.map(([event]) => event)).not.toContain("installed");

      await admin.request("PUT", "/projects/p/channels/stable", { version: "1.2.0" });
      const refused = await device.run({ script: updateOnce, timeoutMs: 30_000 });
      expect(printed(refused.output, "update")).toMatchObject({ ok: false, error: { code: "manifest" } });
      expect(await events()).toContainEqual(
        expect.objectContaining({
          version: "1.2.0",
          event: "failed",
          error: expect.stringMatching(/does not carry the mpota package/),
        }),
      );
    } finally {
      await admin.request("PUT", "/projects/p/channels/stable", { version: "1.1.0" });
      await device.close();
    }
  });

  it("says when the server refuses its token (revoked) or has not accepted it yet (pending)", async () => {
    const { token } = await admin.request<{ token: string }>("POST", "/projects/p/devices", { id: "b2" });
    await admin.request("PATCH", "/projects/p/devices/b2", { status: "revoked" });
    const revoked = await board("b2", token);
    const enrolment = await admin.request<{ token: string }>("POST", "/projects/p/enrolment-token");
    const enrolled = (await (
      await fetch(`${url}/d/p/enrol`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ deviceId: "b3", token: enrolment.token }),
      })
    ).json()) as { token: string };
    const pending = await board("b3", enrolled.token);
    try {
      const a = await revoked.run({ script: twoChecks, timeoutMs: 30_000 });
      expect(printed(a.output, "first")).toMatchObject({ ok: false, error: { code: "auth" } });
      expect(printed(a.output, "first").error.message).toMatch(/does not know this device's token/);
      expect(a.output).not.toContain(token);
      const b = await pending.run({ script: twoChecks, timeoutMs: 30_000 });
      expect(printed(b.output, "first").error.message).toMatch(/not accepted this device/);
    } finally {
      await Promise.all([revoked.close(), pending.close()]);
    }
  });
});
