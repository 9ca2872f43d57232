/**
 * Rollouts over time: device events counted per rollout, the automatic pause when failures pass the
 * threshold, and the step clock. Every change is a conditional UPDATE (on the state or step it read),
 * so several server processes on one database can run this side by side and change each thing once.
 */
import type { Kysely } from "kysely";
import type { Database, DeviceEvent, Rollout } from "../../db/index.ts";
import { recordAudit } from "../audit.ts";

export interface EventInput {
  project: string;
  deviceId: string;
  version: string;
  event: DeviceEvent;
  error: string | null;
  at: number;
}

const BAD_EVENTS: DeviceEvent[] = ["failed", "rolled_back"];

export function parseSteps(rollout: Pick<Rollout, "steps">): number[] {
  return JSON.parse(rollout.steps) as number[];
}

/**
 * Stores device events on releases of their project (a device cannot add rows by naming versions
 * that do not exist; a repeat of the same device, version and event is ignored) and pauses the
 * rollouts whose failures they push past the threshold.
 */
export async function recordEvents(db: Kysely<Database>, reported: EventInput[]): Promise<void> {
  if (reported.length === 0) return;
  const projects = [...new Set(reported.map((e) => e.project))];
  const published = await db
    .selectFrom("releases")
    .select(["project", "version"])
    .where("project", "in", projects)
    .where("version", "in", [...new Set(reported.map((e) => e.version))])
    .execute();
  const releases = new Set(published.map((r) => `${r.project}\n${r.version}`));
  const events = reported.filter((e) => releases.has(`${e.project}\n${e.version}`));
  if (events.length === 0) return;
  // Only the rollouts these events can belong to, not every active rollout of every project.
  const active = await db
    .selectFrom("rollouts")
    .select(["id", "project", "to_version"])
    .where("state", "in", ["running", "paused"])
    .where("project", "in", projects)
    .where("to_version", "in", [...new Set(events.map((e) => e.version))])
    .execute();
  const rolloutOf = (e: EventInput) =>
    active.find((r) => r.project === e.project && r.to_version === e.version)?.id;
  const rows = events.map((e) => ({
    project: e.project,
    device_id: e.deviceId,
    version: e.version,
    event: e.event,
    error: e.error,
    rollout_id: rolloutOf(e) ?? null,
    at: e.at,
  }));
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto("events")
      .values(rows.slice(i, i + 500))
      .onConflict((oc) => oc.columns(["project", "device_id", "version", "event"]).doNothing())
      .execute();
  }
  const touched = new Set(
    rows.filter((r) => r.rollout_id && BAD_EVENTS.includes(r.event)).map((r) => r.rollout_id!),
  );
  const at = Math.max(...events.map((e) => e.at));
  for (const id of touched) await pauseIfUnhealthy(db, id, at);
}

export interface RolloutHealth {
  /** Devices the rollout offered its release to that reported anything about it since. */
  reported: number;
  /** Of those, devices that reported it failed or rolled back. */
  failed: number;
  /** Of those, devices that confirmed it and reported no failure. */
  confirmed: number;
}

export interface Offer {
  rolloutId: string;
  deviceId: string;
  at: number;
}

/** Notes that rollouts offered their new release to devices; the first offer's time is kept. */
export async function recordOffers(db: Kysely<Database>, offers: Offer[]): Promise<void> {
  for (let i = 0; i < offers.length; i += 500) {
    await db
      .insertInto("rollout_offers")
      .values(
        offers.slice(i, i + 500).map((o) => ({ rollout_id: o.rolloutId, device_id: o.deviceId, at: o.at })),
      )
      .onConflict((oc) => oc.columns(["rollout_id", "device_id"]).doNothing())
      .execute();
  }
}

/**
 * The rollout's health from the devices it offered its release to, on events since the offer (a
 * device told another release says nothing about this one). Each device counts once, by its worst
 * news: a failure or rollback wins over a confirmation.
 */
export async function rolloutHealth(db: Kysely<Database>, rolloutId: string): Promise<RolloutHealth> {
  const perDevice = db
    .selectFrom("events as e")
    .innerJoin("rollout_offers as o", (join) =>
      join.onRef("o.rollout_id", "=", "e.rollout_id").onRef("o.device_id", "=", "e.device_id"),
    )
    .select((eb) => [
      "e.device_id",
      eb.fn.max(eb.case().when("e.event", "in", BAD_EVENTS).then(eb.lit(1)).else(eb.lit(0)).end()).as("bad"),
      eb.fn.max(eb.case().when("e.event", "=", "confirmed").then(eb.lit(1)).else(eb.lit(0)).end()).as("good"),
    ])
    .where("e.rollout_id", "=", rolloutId)
    .whereRef("e.at", ">=", "o.at")
    .groupBy("e.device_id")
    .as("d");
  const row = await db
    .selectFrom(perDevice)
    .select((eb) => [
      eb.fn.countAll<number | string>().as("reported"),
      eb.fn.sum<number | string | null>("d.bad").as("failed"),
      eb.fn
        .sum<number | string | null>(
          eb.case().when("d.bad", "=", 0).then(eb.ref("d.good")).else(eb.lit(0)).end(),
        )
        .as("confirmed"),
    ])
    .executeTakeFirstOrThrow();
  return { reported: Number(row.reported), failed: Number(row.failed), confirmed: Number(row.confirmed) };
}

function unhealthy(rollout: Rollout, health: RolloutHealth): boolean {
  return (
    health.failed >= rollout.min_failures && health.failed * 100 > rollout.failure_percent * health.reported
  );
}

async function pauseIfUnhealthy(db: Kysely<Database>, rolloutId: string, at: number): Promise<boolean> {
  const rollout = await db.selectFrom("rollouts").selectAll().where("id", "=", rolloutId).executeTakeFirst();
  if (rollout?.state !== "running") return false;
  const health = await rolloutHealth(db, rolloutId);
  if (!unhealthy(rollout, health)) return false;
  const reason = `${health.failed} of ${health.reported} devices failed or rolled back (threshold ${rollout.failure_percent}%)`;
  const result = await db
    .updateTable("rollouts")
    .set({ state: "paused", reason, updated_at: at })
    .where("id", "=", rolloutId)
    .where("state", "=", "running")
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await recordAudit(db, at, {
    actor: "system",
    action: "rollout.pause",
    project: rollout.project,
    target: rolloutId,
    detail: { reason, ...health },
  });
  return true;
}

/** Moves every running rollout on: pause when unhealthy, next step after its wait, done after 100 %. */
export async function tickRollouts(db: Kysely<Database>, now: number): Promise<void> {
  const running = await db.selectFrom("rollouts").selectAll().where("state", "=", "running").execute();
  for (const rollout of running) {
    if (await pauseIfUnhealthy(db, rollout.id, now)) continue;
    if (now - rollout.step_started_at < rollout.min_wait_ms) continue;
    const steps = parseSteps(rollout);
    if (rollout.step < steps.length - 1) await advanceStep(db, rollout, now);
    else await completeRollout(db, rollout, now);
  }
}

/** Next step, if the rollout is still running at the step we read. Returns whether it moved. */
export async function advanceStep(db: Kysely<Database>, rollout: Rollout, now: number, actor = "system") {
  const result = await db
    .updateTable("rollouts")
    .set({ step: rollout.step + 1, step_started_at: now, updated_at: now })
    .where("id", "=", rollout.id)
    .where("state", "=", "running")
    .where("step", "=", rollout.step)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  const percent = parseSteps(rollout)[rollout.step + 1];
  await recordAudit(db, now, {
    actor,
    action: "rollout.step",
    project: rollout.project,
    target: rollout.id,
    detail: { step: rollout.step + 1, percent },
  });
  return true;
}

async function completeRollout(db: Kysely<Database>, rollout: Rollout, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable("rollouts")
      .set({ state: "completed", updated_at: now })
      .where("id", "=", rollout.id)
      .where("state", "=", "running")
      .where("step", "=", rollout.step)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return;
    await trx
      .updateTable("channels")
      .set({ version: rollout.to_version, rollout_id: null, updated_at: now })
      .where("project", "=", rollout.project)
      .where("name", "=", rollout.channel)
      .where("rollout_id", "=", rollout.id)
      .execute();
    await recordAudit(trx, now, {
      actor: "system",
      action: "rollout.complete",
      project: rollout.project,
      target: rollout.id,
      detail: { channel: rollout.channel, version: rollout.to_version },
    });
  });
}
