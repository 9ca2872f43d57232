/** Staged rollouts through the API with a clock the test moves: steps, buckets, pause, resume, abort. */
import type { InjectOptions } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { testDialects } from "../../../testing/db.ts";
import { startTestServer, type TestServer, testKey, testRelease } from "../../../testing/server.ts";
import { bucketOf, pickVersion } from "./policy.ts";

describe("rollout policy", () => {
  it("puts devices in stable, evenly spread buckets", () => {
    expect(bucketOf("dev-1", "r1")).toBe(bucketOf("dev-1", "r1"));
    const inTen = Array.from({ length: 10_000 }, (_, i) => bucketOf(`dev-${i}`, "r1")).filter(
      (b) => b < 1000,
    ).length;
    expect(inTen).toBeGreaterThan(900);
    expect(inTen).toBeLessThan(1100);
    // another rollout draws another sample
    const both = Array.from({ length: 1000 }, (_, i) => `dev-${i}`).filter(
      (d) => bucketOf(d, "r1") < 1000 && bucketOf(d, "r2") < 1000,
    );
    expect(both.length).toBeLessThan(30);
  });

  it("prefers the device pin, then a tag pin, then the rollout, then the channel", () => {
    const route = {
      version: "1.0.0",
      rollout: { id: "r", fromVersion: "1.0.0", toVersion: "2.0.0", percent: 100, state: "running" as const },
    };
    const device = { id: "d", version: "1.0.0", pin: null, tagPin: null };
    expect(pickVersion(device, route)).toBe("2.0.0");
    expect(pickVersion({ ...device, tagPin: "1.5.0" }, route)).toBe("1.5.0");
    expect(pickVersion({ ...device, pin: "0.9.0", tagPin: "1.5.0" }, route)).toBe("0.9.0");
    expect(pickVersion(device, { version: "1.0.0", rollout: null })).toBe("1.0.0");
    const paused = { ...route, rollout: { ...route.rollout, state: "paused" as const } };
    expect(pickVersion(device, paused)).toBe("1.0.0");
    expect(pickVersion({ ...device, version: "2.0.0" }, paused)).toBe("2.0.0");
  });
});

describe.each(testDialects)("rollouts (%s)", (dialect) => {
  let s: TestServer;
  let now = Date.UTC(2026, 10, 23, 6);
  afterEach(async () => s?.close());

  async function setup(deviceCount: number) {
    s = await startTestServer(dialect, { now: () => now, limits: { checkinIntervalMs: 0 } });
    const admin = { authorization: `Bearer ${s.adminToken}` };
    const api = (method: InjectOptions["method"], url: string, payload?: object) =>
      s.app.inject({ method, url: `/api/v1${url}`, headers: admin, ...(payload ? { payload } : {}) });
    const key = testKey();
    await api("POST", "/projects", { name: "p" });
    await api("POST", "/projects/p/keys", { publicKey: key.publicKeyHex });
    for (const version of ["1.0.0", "2.0.0"]) {
      const release = testRelease("p", version, { "main.py": `v = "${version}"\n` }, key);
      for (const [name, bytes] of release.blobs)
        await s.app.inject({
          method: "PUT",
          url: `/api/v1/projects/p/blobs/${name}`,
          headers: { ...admin, "content-type": "application/octet-stream" },
          payload: bytes,
        });
      expect((await api("POST", "/projects/p/releases", release.envelope)).statusCode).toBe(201);
    }
    await api("PUT", "/projects/p/channels/stable", { version: "1.0.0" });
    const devices: Array<{ id: string; headers: Record<string, string> }> = [];
    for (let i = 0; i < deviceCount; i++) {
      const id = `dev-${i}`;
      const { token } = (await api("POST", "/projects/p/devices", { id })).json();
      devices.push({ id, headers: { authorization: `Bearer ${token}`, "x-mpota-device": id } });
    }
    const offered = async (device: { headers: Record<string, string> }, version = "1.0.0") => {
      const res = await s.app.inject({
        method: "GET",
        url: `/d/p/channels/stable.json?version=${version}&state=good`,
        headers: device.headers,
      });
      return JSON.parse(res.body.split("\n")[1]!).version as string;
    };
    const report = (device: { headers: Record<string, string> }, event: string) =>
      s.app.inject({
        method: "POST",
        url: "/d/p/reports",
        headers: device.headers,
        payload: { version: "2.0.0", event },
      });
    /** Starts a rollout of 2.0.0 on channel stable with `settings` (steps, waits, thresholds). */
    const startRollout = async (settings: object) => {
      const res = await api("POST", "/projects/p/rollouts", {
        channel: "stable",
        version: "2.0.0",
        ...settings,
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json();
    };
    return { api, devices, offered, report, startRollout };
  }

  it("moves through its steps after each wait, to the same devices, and completes on the channel", async () => {
    const { api, devices, offered, startRollout } = await setup(60);
    const rollout = await startRollout({ steps: [10, 50, 100], minWaitSeconds: 600 });
    expect(rollout).toMatchObject({ from: "1.0.0", to: "2.0.0", step: 0, percent: 10, state: "running" });
    const onNew = async () => {
      const list: string[] = [];
      for (const d of devices) if ((await offered(d)) === "2.0.0") list.push(d.id);
      return list;
    };
    const first = await onNew();
    expect(first).toEqual(devices.filter((d) => bucketOf(d.id, rollout.id) < 1000).map((d) => d.id));
    now += 599_000;
    await s.tick();
    expect(await onNew()).toEqual(first);
    now += 1000;
    await s.tick();
    const second = await onNew();
    expect(second.length).toBeGreaterThan(first.length);
    expect(second).toEqual(expect.arrayContaining(first));
    expect((await api("GET", `/projects/p/rollouts/${rollout.id}`)).json()).toMatchObject({
      step: 1,
      percent: 50,
    });
    now += 600_000;
    await s.tick();
    expect((await onNew()).length).toBe(60);
    now += 600_000;
    await s.tick();
    expect((await api("GET", `/projects/p/rollouts/${rollout.id}`)).json().state).toBe("completed");
    expect((await api("GET", "/projects/p/channels")).json().channels).toEqual([
      { name: "stable", version: "2.0.0", rollout: null },
    ]);
    const actions = (await api("GET", "/audit?project=p"))
      .json()
      .entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["rollout.start", "rollout.step", "rollout.complete"]));
  });

  it("pauses by itself when failures pass the threshold, and stops offering the new release", async () => {
    const { api, devices, offered, report, startRollout } = await setup(40);
    const rollout = await startRollout({
      steps: [50, 100],
      minWaitSeconds: 0,
      failurePercent: 20,
      minFailures: 2,
    });
    const chosen = [];
    for (const d of devices) if ((await offered(d)) === "2.0.0") chosen.push(d);
    expect(chosen.length).toBeGreaterThan(5);
    for (const d of chosen.slice(0, 5)) await report(d, "confirmed");
    await report(chosen[5]!, "rolled_back");
    expect((await api("GET", `/projects/p/rollouts/${rollout.id}`)).json().state).toBe("running");
    await report(chosen[6]!, "failed");
    const paused = (await api("GET", `/projects/p/rollouts/${rollout.id}`)).json();
    expect(paused.state).toBe("paused");
    expect(paused.reason).toMatch(/2 of 7 devices failed or rolled back/);
    expect(paused.health).toEqual({ reported: 7, failed: 2, confirmed: 5 });
    // a paused rollout offers the new release only to devices already running it
    expect(await offered(chosen[7]!)).toBe("1.0.0");
    expect(await offered(chosen[0]!, "2.0.0")).toBe("2.0.0");
    await s.tick();
    expect((await api("GET", `/projects/p/rollouts/${rollout.id}`)).json()).toMatchObject({
      state: "paused",
      step: 0,
    });
    expect((await api("POST", `/projects/p/rollouts/${rollout.id}/pause`)).statusCode).toBe(409);
    const audit = (await api("GET", "/audit?project=p")).json().entries;
    expect(audit.find((e: { action: string }) => e.action === "rollout.pause").actor).toBe("system");
  });

  it("counts only devices it offered the release to, once each, on what follows from the offer", async () => {
    const { api, devices, offered, report, startRollout } = await setup(80);
    const rollout = await startRollout({
      steps: [25, 100],
      minWaitSeconds: 3600,
      failurePercent: 20,
      minFailures: 2,
    });
    const chosen: typeof devices = [];
    const others: typeof devices = [];
    for (const d of devices) ((await offered(d)) === "2.0.0" ? chosen : others).push(d);
    expect(chosen.length).toBeGreaterThan(3);
    expect(others.length).toBeGreaterThan(33);
    const state = async () => (await api("GET", `/projects/p/rollouts/${rollout.id}`)).json();

    // devices told 1.0.0 cannot pause it, whatever they claim about 2.0.0 ...
    await report(others[0]!, "failed");
    await report(others[1]!, "rolled_back");
    await s.app.inject({
      method: "GET",
      url: "/d/p/channels/stable.json?version=1.0.0&state=good&failed=2.0.0",
      headers: others[2]!.headers,
    });
    await s.flush();
    await s.tick();
    expect(await state()).toMatchObject({
      state: "running",
      health: { reported: 0, failed: 0, confirmed: 0 },
    });
    // ... nor hide real failures behind fake confirmations
    for (const d of others.slice(3, 33)) await report(d, "confirmed");
    // one device counts once, by its worst news
    await report(chosen[0]!, "confirmed");
    await report(chosen[1]!, "failed");
    await report(chosen[1]!, "rolled_back");
    expect(await state()).toMatchObject({
      state: "running",
      health: { reported: 2, failed: 1, confirmed: 1 },
    });
    await report(chosen[2]!, "confirmed");
    await report(chosen[2]!, "failed");
    const paused = await state();
    expect(paused).toMatchObject({ state: "paused", health: { reported: 3, failed: 2, confirmed: 1 } });
    expect(paused.reason).toMatch(/2 of 3 devices failed or rolled back/);
    // a paused rollout keeps a device on 2.0.0 because it says it runs it: that is no offer
    expect(await offered(others[33]!, "2.0.0")).toBe("2.0.0");
    await report(others[33]!, "failed");
    expect((await state()).health).toEqual({ reported: 3, failed: 2, confirmed: 1 });
  });

  it("resumes, advances by hand and aborts; one rollout per channel at a time", async () => {
    const { api, devices, offered } = await setup(20);
    const body = { channel: "stable", version: "2.0.0", steps: [5, 100], minWaitSeconds: 3600 };
    const rollout = (await api("POST", "/projects/p/rollouts", body)).json();
    expect((await api("POST", "/projects/p/rollouts", body)).statusCode).toBe(409);
    expect((await api("PUT", "/projects/p/channels/stable", { version: "2.0.0" })).statusCode).toBe(409);
    expect((await api("POST", `/projects/p/rollouts/${rollout.id}/pause`)).json().state).toBe("paused");
    expect((await api("POST", `/projects/p/rollouts/${rollout.id}/advance`)).statusCode).toBe(409);
    expect((await api("POST", `/projects/p/rollouts/${rollout.id}/resume`)).json().state).toBe("running");
    expect((await api("POST", `/projects/p/rollouts/${rollout.id}/advance`)).json()).toMatchObject({
      step: 1,
      percent: 100,
    });
    for (const d of devices) expect(await offered(d)).toBe("2.0.0");
    expect((await api("POST", `/projects/p/rollouts/${rollout.id}/abort`)).json().state).toBe("aborted");
    for (const d of devices) expect(await offered(d)).toBe("1.0.0");
    expect((await api("POST", `/projects/p/rollouts/${rollout.id}/resume`)).statusCode).toBe(409);
    expect((await api("GET", "/projects/p/channels")).json().channels[0]).toEqual({
      name: "stable",
      version: "1.0.0",
      rollout: null,
    });
    const again = await api("POST", "/projects/p/rollouts", body);
    expect(again.statusCode).toBe(201);
  });

  it("refuses bad rollout requests", async () => {
    const { api } = await setup(0);
    const bad = async (body: object, status = 400) =>
      expect((await api("POST", "/projects/p/rollouts", body)).statusCode).toBe(status);
    await bad({ channel: "stable", version: "2.0.0", steps: [50, 10, 100] });
    await bad({ channel: "stable", version: "2.0.0", steps: [10, 50] });
    await bad({ channel: "stable", version: "2.0.0", steps: [0, 100] });
    await bad({ channel: "stable", version: "2.0.0", minWaitSeconds: -1 });
    await bad({ channel: "stable", version: "2.0.0", failurePercent: "ten" });
    await bad({ channel: "stable", version: "1.0.0" });
    await bad({ channel: "stable", version: "3.0.0" }, 404);
    expect(
      (await api("POST", "/projects/p/rollouts/00000000-0000-0000-0000-000000000000/pause")).statusCode,
    ).toBe(404);
    expect(
      (await api("POST", "/projects/p/rollouts/00000000-0000-0000-0000-000000000000/explode")).statusCode,
    ).toBe(400);
  });
});
