/**
 * The status page at `/` on a real server: what a person watching a rollout needs (devices per
 * release and state, when each was seen, the rollout's step and progress), on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDialects } from "../../db/testing.ts";
import { AdminClient, publishRelease } from "../client.ts";
import { bucketOf } from "../rollouts/policy.ts";
import { startTestServer, type TestRelease, type TestServer, testKey, testRelease } from "../testing.ts";
import { ago } from "./status.ts";

const START = Date.parse("2026-11-23T06:00:00Z");

describe("ago", () => {
  it("says how long ago in the largest fitting unit", () => {
    expect(ago(null, START)).toBe("never");
    expect(ago(START - 12_000, START)).toBe("12 s ago");
    expect(ago(START - 5 * 60_000, START)).toBe("5 min ago");
    expect(ago(START - 3 * 3_600_000, START)).toBe("3 h ago");
    expect(ago(START - 4 * 86_400_000, START)).toBe("4 d ago");
    expect(ago(START + 5000, START)).toBe("0 s ago");
  });
});

describe.each(testDialects)("the status page (%s)", (dialect) => {
  let clock = START;
  let s: TestServer;
  let url: string;
  let admin: AdminClient;
  const page = async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    // tags and whitespace out: the text a person reads
    return (await res.text()).replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
  };
  const checkIn = async (id: string, token: string, version: string, state: string) => {
    const res = await fetch(`${url}/d/greenhouse/channels/stable.json?version=${version}&state=${state}`, {
      headers: { authorization: `Bearer ${token}`, "x-mpota-device": id },
    });
    expect(res.status, await res.text()).toBe(200);
  };
  const publish = (r: TestRelease) => publishRelease(admin, r.files, { project: "greenhouse" });

  beforeAll(async () => {
    s = await startTestServer(dialect, { limits: { checkinIntervalMs: 0 }, now: () => clock });
    await s.app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
    admin = new AdminClient(url, s.adminToken);
  });
  afterAll(async () => s?.close());

  it("says there is nothing yet on a new server", async () => {
    expect(await page()).toMatch(/No projects yet: create one with mpota project add NAME/);
  });

  it("shows devices per release and state, when each was seen, and the rollout's progress", async () => {
    const key = testKey();
    await admin.request("POST", "/projects", { name: "greenhouse" });
    await admin.request("POST", "/projects/greenhouse/keys", { publicKey: key.publicKeyHex });
    await publish(testRelease("greenhouse", "1.0.0", { "main.py": "print(1)\n" }, key));
    await publish(testRelease("greenhouse", "1.1.0", { "main.py": "print(2)\n" }, key));
    await admin.request("PUT", "/projects/greenhouse/channels/stable", { version: "1.0.0" });
    const tokens: Record<string, string> = {};
    for (const id of ["b1", "b2", "b3", "never"])
      tokens[id] = (
        await admin.request<{ token: string }>("POST", "/projects/greenhouse/devices", { id })
      ).token;
    await checkIn("b1", tokens.b1!, "1.0.0", "good");
    await checkIn("b2", tokens.b2!, "1.0.0", "good");
    clock += 30_000;
    await checkIn("b3", tokens.b3!, "1.0.0", "good");
    await s.flush();
    // b2 stands for a device the rollout offers 1.1.0 to (health counts only those): buckets are
    // drawn per rollout, so a rollout that leaves b2 out is aborted and started again
    for (let tries = 0; tries < 40; tries++) {
      const rollout = await admin.request<{ id: string }>("POST", "/projects/greenhouse/rollouts", {
        channel: "stable",
        version: "1.1.0",
        steps: [50, 100],
        minWaitSeconds: 60,
      });
      if (bucketOf("b2", rollout.id) < 5000) break;
      await admin.request("POST", `/projects/greenhouse/rollouts/${rollout.id}/abort`);
    }
    clock += 20_000;
    await checkIn("b2", tokens.b2!, "1.1.0", "trial");
    await s.flush();

    const text = await page();
    expect(text).toContain("4 active; 3 seen in the last hour");
    expect(text).toMatch(
      /stable 1\.0\.0 running rollout to 1\.1\.0: step 1 of 2 \(offered to 50% of devices, next step in 40 s\); 1 device\(s\) on 1\.1\.0; 0 confirmed, 0 failed of 1 reporting/,
    );
    expect(text).toMatch(/Releases running version state devices 1\.0\.0 good 2 1\.1\.0 trial 1 /);
    // the devices seen last first, a device never seen last
    expect(text).toMatch(
      /Devices device version state last seen b2 1\.1\.0 trial 0 s ago b3 1\.0\.0 good 20 s ago b1 1\.0\.0 good 50 s ago never - - never/,
    );

    await admin.request("PATCH", "/projects/greenhouse/devices/b1", { status: "revoked" });
    clock += 60_000;
    await s.tick();
    expect(await page()).toMatch(/step 2 of 2 \(offered to 100% of devices, next step in 60 s\)/);
    expect(await page()).toMatch(/b1 \(revoked\) 1\.0\.0 good/);
    await checkIn("b2", tokens.b2!, "1.1.0", "good");
    clock += 60_000;
    await s.flush();
    await s.tick();
    const done = await page();
    expect(done).toMatch(/stable 1\.1\.0 (?!running)/);
    expect(done).toMatch(/1\.1\.0 good 1 /);
  });
});
