/**
 * What one client can cost the device API: reports and enrolments are rate-limited and capped, and
 * wrong tokens are throttled per client address, each with 429 and Retry-After as for check-ins.
 */
import type { InjectOptions } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { testDialects } from "../../../testing/db.ts";
import { startTestServer, type TestServer, testKey, testRelease } from "../../../testing/server.ts";
import type { Limits } from "../context.ts";

describe.each(testDialects)("device API limits (%s)", (dialect) => {
  let s: TestServer | undefined;
  let now = Date.UTC(2026, 10, 23, 6);
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  async function setup(limits: Partial<Limits>) {
    const server = await startTestServer(dialect, {
      now: () => now,
      limits: { checkinIntervalMs: 0, ...limits },
    });
    s = server;
    const admin = { authorization: `Bearer ${server.adminToken}` };
    const api = (method: InjectOptions["method"], url: string, payload?: object) =>
      server.app.inject({ method, url: `/api/v1${url}`, headers: admin, ...(payload ? { payload } : {}) });
    const key = testKey();
    await api("POST", "/projects", { name: "p" });
    await api("POST", "/projects/p/keys", { publicKey: key.publicKeyHex });
    const release = testRelease("p", "1.0.0", { "main.py": "v = 1\n" }, key);
    for (const [name, bytes] of release.blobs)
      await server.app.inject({
        method: "PUT",
        url: `/api/v1/projects/p/blobs/${name}`,
        headers: { ...admin, "content-type": "application/octet-stream" },
        payload: bytes,
      });
    expect((await api("POST", "/projects/p/releases", release.envelope)).statusCode).toBe(201);
    const device = async (id: string) => {
      const { token } = (await api("POST", "/projects/p/devices", { id })).json();
      return { authorization: `Bearer ${token}`, "x-mpota-device": id };
    };
    const report = (headers: Record<string, string>, version: string, event = "downloading", from?: string) =>
      server.app.inject({
        method: "POST",
        url: "/d/p/reports",
        headers,
        payload: { version, event },
        ...(from ? { remoteAddress: from } : {}),
      });
    const enrol = (deviceId: string, token: string, from?: string) =>
      server.app.inject({
        method: "POST",
        url: "/d/p/enrol",
        payload: { deviceId, token },
        ...(from ? { remoteAddress: from } : {}),
      });
    const events = async (id: string) =>
      (await api("GET", `/projects/p/devices/${id}`)).json().events as unknown[];
    return { api, device, report, enrol, events };
  }

  const retryAfter = (res: { headers: Record<string, unknown> }) => Number(res.headers["retry-after"]);

  it("takes reports only on the project's releases, and at most reportsPerMinute per device", async () => {
    const { device, report, events } = await setup({ reportsPerMinute: 3 });
    const dev = await device("d1");
    const unknown = await report(dev, "9.9.9");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('project "p" has no release 9.9.9');
    // one device cannot fill the events table by inventing versions
    for (let i = 0; i < 20; i++) await report(dev, `1.0.${i + 1}`, "failed");
    // ... nor by checking in with them (a check-in that changes what the device runs is an event)
    for (let i = 0; i < 5; i++)
      await s!.app.inject({
        method: "GET",
        url: `/d/p/channels/stable.json?version=7.0.${i}&state=${i % 2 ? "good" : "trial"}&failed=6.0.${i}`,
        headers: dev,
      });
    await s!.flush();
    expect(await events("d1")).toEqual([]);

    now += 60_000;
    for (const event of ["downloading", "installed", "trial"])
      expect((await report(dev, "1.0.0", event)).statusCode).toBe(204);
    const limited = await report(dev, "1.0.0", "confirmed");
    expect(limited.statusCode).toBe(429);
    expect(retryAfter(limited)).toBeGreaterThan(0);
    expect(retryAfter(limited)).toBeLessThanOrEqual(60);
    expect((await report(await device("d2"), "1.0.0")).statusCode).toBe(204); // per device
    now += 60_000;
    expect((await report(dev, "1.0.0", "confirmed")).statusCode).toBe(204);
    expect(await events("d1")).toHaveLength(4);
  });

  it("enrols at most enrolmentsPerMinute devices per project, and caps the devices waiting for approval", async () => {
    const { api, enrol } = await setup({ enrolmentsPerMinute: 4, maxPendingDevices: 6 });
    const { token } = (await api("POST", "/projects/p/enrolment-token")).json();
    for (let i = 0; i < 4; i++) expect((await enrol(`e${i}`, token)).statusCode).toBe(201);
    const fast = await enrol("e4", token);
    expect(fast.statusCode).toBe(429);
    expect(fast.json().error).toMatch(/at most 4 enrolments per minute/);
    expect(retryAfter(fast)).toBeGreaterThan(0);
    // claiming ids ahead of the boards counts too, taken or not
    now += 60_000;
    expect((await enrol("e0", token)).statusCode).toBe(409);
    expect((await enrol("e4", token)).statusCode).toBe(201);
    expect((await enrol("e5", token)).statusCode).toBe(201);
    const full = await enrol("e6", token);
    expect(full.statusCode).toBe(429);
    expect(full.json().error).toMatch(/6 devices are waiting for approval/);
    expect(retryAfter(full)).toBeGreaterThan(0);
    expect((await api("PATCH", "/projects/p/devices/e0", { status: "active" })).statusCode).toBe(200);
    now += 60_000;
    expect((await enrol("e6", token)).statusCode).toBe(201);
    expect((await api("GET", "/projects/p/devices?status=pending")).json().total).toBe(6);
  });

  it("throttles wrong enrolment and device tokens per client address", async () => {
    const { api, enrol, report, device } = await setup({ authFailuresPerMinute: 5 });
    const { token } = (await api("POST", "/projects/p/enrolment-token")).json();
    const dev = await device("d1");
    for (let i = 0; i < 3; i++)
      expect((await enrol(`x${i}`, `mpe_guess${i}`, "10.0.0.7")).statusCode).toBe(401);
    const wrongDevice = { ...dev, authorization: "Bearer mpd_guess" };
    for (let i = 0; i < 2; i++)
      expect((await report(wrongDevice, "1.0.0", "downloading", "10.0.0.7")).statusCode).toBe(401);
    // the address is now refused, even with a right token
    const blocked = await enrol("x9", token, "10.0.0.7");
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error).toMatch(/too many wrong tokens/);
    expect(retryAfter(blocked)).toBeGreaterThan(0);
    expect((await report(dev, "1.0.0", "downloading", "10.0.0.7")).statusCode).toBe(429);
    // other addresses are not
    expect((await report(dev, "1.0.0", "downloading", "10.0.0.8")).statusCode).toBe(204);
    expect((await enrol("x9", token, "10.0.0.8")).statusCode).toBe(201);
    now += 60_000;
    expect((await enrol("x10", token, "10.0.0.7")).statusCode).toBe(201);
  });
});
