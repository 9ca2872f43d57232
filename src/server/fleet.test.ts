/**
 * Virtual devices end to end against a real server on loopback, through the device's `server`
 * source: a staged rollout of a release that crashes on some boards pauses by itself at its first
 * step (learned from the boards' check-ins after they roll back), and a good release reaches them all.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appTree, buildRelease, bundledBoard, makeSigningKey } from "../../testing/board.ts";
import { startTestServer, type TestServer } from "../../testing/server.ts";
import { scaled } from "../../testing/sim.ts";
import { VirtualDevice } from "../sim/index.ts";
import { AdminClient, publishRelease, releaseFromFolder } from "./admin-client.ts";
import { bucketOf } from "./rollouts/policy.ts";

// MPOTA_FLEET=100 for a quicker local run (fewer boards may leave too few crashers in the first step); the figure (and CI) is 200 boards (~3 min on 2 cores).
const FLEET = Number(process.env.MPOTA_FLEET ?? 200);
const PROJECT = "greenhouse";
const key = makeSigningKey();
const site = mkdtempSync(join(tmpdir(), "mpota-fleet-site-"));

// Every boot: a board on trial that got this far confirms, then checks the server for an update.
const confirmThenUpdate = `import mpota, json
if mpota.status().get("state") == "trial":
    print("confirm", json.dumps(mpota.confirm()))
print("update", json.dumps(mpota.update()))
`;
// 2.0.0 crashes at start on boards with an even number (a sensor only they have).
const crashOnEven = `import json
with open("/ota_config.json") as f:
    board = json.load(f)["source"]["device_id"]
if int(board.split("-")[1]) % 2 == 0:
    raise RuntimeError("no sensor on bus 2")
`;
const app = (version: string, first = "") =>
  appTree(`print("running ${version}")\n${first}${confirmThenUpdate}`);

let s: TestServer;
let url: string;
let admin: AdminClient;

beforeAll(async () => {
  s = await startTestServer("sqlite", { limits: { checkinIntervalMs: 0 } });
  await s.app.listen({ port: 0, host: "127.0.0.1" });
  url = `http://127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
  admin = new AdminClient(url, s.adminToken);
  await admin.request("POST", "/projects", { name: PROJECT });
  await admin.request("POST", "/projects/greenhouse/keys", { publicKey: key.publicHex });
  const releases = { "1.0.0": app("1.0.0"), "2.0.0": app("2.0.0", crashOnEven), "2.1.0": app("2.1.0") };
  for (const [version, tree] of Object.entries(releases)) {
    buildRelease(site, PROJECT, version, tree, key);
    await publishRelease(admin, await releaseFromFolder(site, PROJECT, version), { project: PROJECT });
  }
  await admin.request("PUT", "/projects/greenhouse/channels/stable", { version: "1.0.0" });
});

afterAll(async () => {
  await s?.close();
  rmSync(site, { recursive: true, force: true });
});

describe(`a staged rollout over ${FLEET} virtual devices`, () => {
  it(
    "pauses by itself at the first step on a crashing release; a good release reaches 100 %",
    async () => {
      const boards: Array<{ id: string; device: VirtualDevice }> = [];
      for (let i = 0; i < FLEET; i++) {
        const id = `dev-${i}`;
        const { token } = await admin.request<{ token: string }>("POST", "/projects/greenhouse/devices", {
          id,
        });
        const config = {
          project: PROJECT,
          keys: [key.publicHex],
          source: { type: "server", url, channel: "stable", device_id: id, token },
        };
        boards.push({ id, device: new VirtualDevice({ files: bundledBoard(site, config, "1.0.0") }) });
      }
      try {
        const bootAll = async () => {
          for (let i = 0; i < boards.length; i += 16) {
            const batch = boards.slice(i, i + 16);
            const results = await Promise.all(
              batch.map((b) => b.device.run({ timeoutMs: scaled(60_000), maxReboots: 6 })),
            );
            for (const [j, r] of results.entries())
              expect(r.end, `${batch[j]!.id}: ${r.error}\n${r.output}`).not.toBe("timeout");
          }
          await s.flush();
        };
        const versions = async () => {
          const { devices } = await admin.request<{ devices: Array<{ id: string; version: string }> }>(
            "GET",
            "/projects/greenhouse/devices?limit=1000",
          );
          return new Map(devices.map((d) => [d.id, d.version]));
        };

        const bad = await admin.request<{ id: string }>("POST", "/projects/greenhouse/rollouts", {
          channel: "stable",
          version: "2.0.0",
          steps: [10, 50, 100],
          minWaitSeconds: 0,
          failurePercent: 20,
          minFailures: 2,
        });
        const firstStep = boards.filter((b) => bucketOf(b.id, bad.id) < 1000).map((b) => b.id);
        await bootAll();
        await s.tick();
        const paused = await admin.request<{
          state: string;
          step: number;
          reason: string;
          health: { failed: number };
        }>("GET", `/projects/greenhouse/rollouts/${bad.id}`);
        expect(paused).toMatchObject({ state: "paused", step: 0 });
        // It paused once enough boards had rolled back; boards of the first step that checked in after
        // that were no longer offered 2.0.0. Boards outside the first step never were.
        const crashers = firstStep.filter((id) => Number(id.split("-")[1]) % 2 === 0);
        expect(paused.health.failed).toBeGreaterThanOrEqual(2);
        expect(paused.health.failed).toBeLessThanOrEqual(crashers.length);
        expect(paused.reason).toMatch(/failed or rolled back/);
        const after = await versions();
        const onBad = boards.filter((b) => after.get(b.id) === "2.0.0").map((b) => b.id);
        expect(onBad.every((id) => firstStep.includes(id) && !crashers.includes(id))).toBe(true);
        expect(boards.filter((b) => !onBad.includes(b.id)).every((b) => after.get(b.id) === "1.0.0")).toBe(
          true,
        );

        await admin.request("POST", `/projects/greenhouse/rollouts/${bad.id}/abort`);
        const good = await admin.request<{ id: string }>("POST", "/projects/greenhouse/rollouts", {
          channel: "stable",
          version: "2.1.0",
          steps: [50, 100],
          minWaitSeconds: 0,
        });
        for (let round = 0; round < 2; round++) {
          await bootAll();
          await s.tick();
        }
        const done = await admin.request<{ state: string; health: { confirmed: number; failed: number } }>(
          "GET",
          `/projects/greenhouse/rollouts/${good.id}`,
        );
        expect(done.health).toMatchObject({ confirmed: FLEET, failed: 0 });
        expect(done.state).toBe("completed");
        expect([...(await versions()).values()].every((v) => v === "2.1.0")).toBe(true);
      } finally {
        await Promise.all(boards.map((b) => b.device.close()));
      }
    },
    scaled(600_000),
  );
});
