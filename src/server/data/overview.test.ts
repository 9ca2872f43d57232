/**
 * The fleet overview's counts on a small fleet with one device of each kind (pending, revoked,
 * never seen, silent for two hours, seen a minute ago), a channel in a rollout, and check-ins and
 * failures at both ends of the hour and just outside it.
 */
import type { Kysely } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { type OpenTestDatabase, openTestDatabase, testDialects } from "../../../testing/db.ts";
import type { Database, Device } from "../../db/index.ts";
import { DataError } from "../errors.ts";
import { createProject, fleetOverview, provisionDevice, startRollout, updateDevice } from "./index.ts";

const MINUTE = 60_000;
/** 30 s into a minute, so the timeline's minutes do not start at `now`. */
const now = 1_700_000_010_000;
const start = now - (now % MINUTE) - 59 * MINUTE;
const change = { actor: "test", at: now };

async function device(db: Kysely<Database>, project: string, id: string, changes: Partial<Device>) {
  await provisionDevice(db, project, { id, tags: [], pin: null, tokenHash: id }, change);
  if (Object.keys(changes).length > 0) await updateDevice(db, project, id, changes, {}, change);
}

async function fleet(db: Kysely<Database>) {
  for (const project of ["p", "q"]) await createProject(db, project, false, change);
  const seen = { version: "1.0.0", state: "good" };
  await device(db, "p", "fresh", { ...seen, last_seen: now - MINUTE });
  await device(db, "p", "silent", { ...seen, last_seen: now - 120 * MINUTE });
  await device(db, "p", "never", {});
  await device(db, "p", "waiting", { status: "pending" });
  await device(db, "p", "gone", { ...seen, status: "revoked", last_seen: now - 30_000 });
  await device(db, "q", "elsewhere", { version: "9.0.0", state: "good", last_seen: now - 300 * MINUTE });
  for (const version of ["1.0.0", "2.0.0"])
    await db
      .insertInto("releases")
      .values({ project: "p", version, sha256: "0".repeat(64), size: 1, files: 1, rollback: 0, created_at: now })
      .execute();
  await db
    .insertInto("channels")
    .values({ project: "p", name: "beta", version: "1.0.0", rollout_id: null, updated_at: now })
    .execute();
  const plan = { channel: "stable", version: "2.0.0", steps: [10, 100], minWaitSeconds: 60, failurePercent: 10, minFailures: 1 };
  const rollout = await startRollout(db, "p", plan, change, {});
  await db
    .insertInto("checkin_counts")
    .values([
      { project: "p", minute: start - MINUTE, n: 7 },
      { project: "p", minute: start, n: 3 },
      { project: "p", minute: now - (now % MINUTE), n: 2 },
      { project: "q", minute: start, n: 5 },
    ])
    .execute();
  const event = (project: string, deviceId: string, event: "failed" | "rolled_back" | "confirmed", at: number) => ({
    project,
    device_id: deviceId,
    version: "1.0.0",
    event,
    error: null,
    rollout_id: null,
    at,
  });
  await db
    .insertInto("events")
    .values([
      event("p", "fresh", "failed", start - 1),
      event("p", "silent", "rolled_back", start + 30_000),
      event("p", "never", "failed", now - 10_000),
      event("p", "fresh", "confirmed", now),
      event("q", "elsewhere", "failed", now),
    ])
    .execute();
  return { rollout };
}

describe.each(testDialects)("the fleet overview (%s)", (dialect) => {
  let t: OpenTestDatabase | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("counts devices by status, release and state, names the silent ones, and charts the hour", async () => {
    t = await openTestDatabase(dialect);
    const db = t.kysely;
    const { rollout } = await fleet(db);
    const o = await fleetOverview(db, "p", now, 3600);
    expect(o.project).toBe("p");
    expect(o.at).toBe(new Date(now).toISOString());
    expect(o.devices).toEqual({ total: 5, pending: 1, active: 3, revoked: 1, seenLastHour: 2 });
    expect(o.running).toEqual([
      { version: "1.0.0", state: "good", devices: 3 },
      { version: null, state: null, devices: 2 },
    ]);
    expect(o.channels).toMatchObject([
      { name: "beta", version: "1.0.0", rollout: null },
      { name: "stable", version: null, rollout: { id: rollout.id, to: "2.0.0", state: "running", devicesOnTarget: 0 } },
    ]);
    expect(o.stale).toEqual({
      seconds: 3600,
      total: 2,
      devices: [
        { id: "never", version: null, lastSeen: null },
        { id: "silent", version: "1.0.0", lastSeen: new Date(now - 120 * MINUTE).toISOString() },
      ],
    });
    expect(o.timeline.start).toBe(start);
    expect(o.timeline.stepSeconds).toBe(60);
    const nonZero = (values: number[]) => Object.fromEntries(values.flatMap((n, i) => (n ? [[i, n]] : [])));
    expect(nonZero(o.timeline.checkins)).toEqual({ 0: 3, 59: 2 });
    expect(nonZero(o.timeline.failures)).toEqual({ 0: 1, 59: 1 });
  });

  it("counts as stale only what has been silent for longer than asked; refuses an unknown project", async () => {
    t = await openTestDatabase(dialect);
    const db = t.kysely;
    await fleet(db);
    const stale = (await fleetOverview(db, "p", now, 121 * 60)).stale;
    expect(stale).toEqual({ seconds: 121 * 60, total: 1, devices: [{ id: "never", version: null, lastSeen: null }] });
    await expect(fleetOverview(db, "nope", now, 3600)).rejects.toThrow(DataError);
    await expect(fleetOverview(db, "nope", now, 3600)).rejects.toThrow('no project "nope"');
  });
});
