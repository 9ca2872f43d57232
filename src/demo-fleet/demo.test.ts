/**
 * Demo mode end to end on loopback: a server on a temp data folder, three virtual boards running the
 * example app's releases through the device's `server` source, and the staged rollout moving them
 * from 1.0.0 to 1.1.0 as the dashboard's fleet overview shows; then a clean stop. Intervals are short so it
 * takes seconds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Overview } from "../server/api-schemas.ts";
import { serve } from "../server/serve.ts";
import { startDemo } from "./demo.ts";

const data = mkdtempSync(join(tmpdir(), "mpota-fleet-run-"));
afterAll(() => rmSync(data, { recursive: true, force: true }));

/** The first value of `look` that `ready` accepts, asking every 250 ms; else an error showing the last. */
async function when<T>(
  look: () => T | Promise<T>,
  ready: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await look();
    if (ready(value)) return value;
    if (Date.now() > deadline) throw new Error(`never got there; last:\n${JSON.stringify(value, null, 1)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What the dashboard's fleet page reads: the project's overview from the admin API. */
const overview = async (url: string, token: string) =>
  (await (
    await fetch(`${url}/api/v1/projects/greenhouse/overview`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).json()) as Overview;

const onRelease = (o: Overview, version: string) =>
  o.running.filter((r) => r.version === version && r.state === "good").reduce((n, r) => n + r.devices, 0);

describe("demo mode", () => {
  it("shows boards checking in and moving to 1.1.0 in the fleet overview, and stops cleanly", async () => {
    const server = await serve({ port: 0, host: "127.0.0.1", data, limits: { checkinIntervalMs: 0 } });
    const said: string[] = [];
    const demo = startDemo({
      url: server.url,
      data,
      boards: 3,
      intervalSeconds: 1,
      stepWaitSeconds: 1,
      steps: [50, 100],
      say: (line) => said.push(line),
    });
    try {
      await demo.ready;
      const page = () => overview(server.url, server.adminToken!);
      const checkedIn = await when(page, (o) => o.devices.seenLastHour === 3, 15_000);
      expect(checkedIn.devices).toMatchObject({ total: 3, active: 3 });
      const moved = await when(page, (o) => onRelease(o, "1.1.0") > 0, 25_000);
      expect(onRelease(moved, "1.0.0") + onRelease(moved, "1.1.0")).toBeLessThanOrEqual(3);
      expect(moved.channels[0]).toMatchObject({ name: "stable" });
      expect(said).toContain("3 boards checked in: all on 1.0.0");
      expect(said).toContain(
        "started a staged rollout of 1.1.0 on channel stable: 50% → 100% of the boards, 1 s per step",
      );
      // the story looks after each round of wakes: a moment after the page shows it
      const updated = /^greenhouse-0\d: updated 1\.0\.0 → 1\.1\.0, confirmed$/;
      await when(
        () => said,
        (lines) => lines.some((l) => updated.test(l)),
        10_000,
      );
      expect(said.filter((l) => / did not finish|error/.test(l))).toEqual([]);
    } finally {
      const stopping = Date.now();
      await demo.stop();
      await server.close();
      expect(Date.now() - stopping).toBeLessThan(5000);
    }
  }, 60_000);
});
