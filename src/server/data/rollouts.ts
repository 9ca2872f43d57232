/**
 * Staged rollouts as the database holds them, and as the API shows them; started, paused, resumed,
 * advanced and aborted by hand (rollouts/engine.ts moves them on by itself).
 */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, Rollout } from "../../db/index.ts";
import type { RolloutView } from "../api-schemas.ts";
import { recordAudit } from "../audit.ts";
import { DataError } from "../errors.ts";
import { advanceStep, parseSteps, rolloutHealth } from "../rollouts/engine.ts";
import type { Change } from "./change.ts";
import { findChannel, requireRelease } from "./releases.ts";

type Db = Kysely<Database>;

/** What a new rollout is asked to do: the API's request with its defaults filled in. */
export interface RolloutPlan {
  channel: string;
  version: string;
  /** Percent of the channel's devices at each step, rising to 100. */
  steps: number[];
  minWaitSeconds: number;
  failurePercent: number;
  minFailures: number;
}

/**
 * Starts rolling `plan.version` out on `plan.channel` from the channel's current release (a channel
 * that does not exist yet is made, with no release). A conflict when the channel has a rollout in
 * progress; invalid when it is on that release already. The audit log keeps `asked` (the request
 * as sent) and the release the rollout starts from.
 */
export async function startRollout(
  db: Db,
  project: string,
  plan: RolloutPlan,
  change: Change,
  asked: Record<string, unknown>,
): Promise<Rollout> {
  const { channel, version } = plan;
  await requireRelease(db, project, version);
  const now = change.at;
  const rollout: Rollout = {
    id: randomUUID(),
    project,
    channel,
    from_version: null,
    to_version: version,
    steps: JSON.stringify(plan.steps),
    step: 0,
    min_wait_ms: plan.minWaitSeconds * 1000,
    failure_percent: plan.failurePercent,
    min_failures: plan.minFailures,
    state: "running",
    reason: null,
    step_started_at: now,
    created_at: now,
    updated_at: now,
  };
  await db.transaction().execute(async (trx) => {
    const current = await findChannel(trx, project, channel);
    if (current?.rollout_id)
      throw new DataError(
        "conflict",
        `channel "${channel}" already has a rollout in progress (${current.rollout_id})`,
      );
    if (current?.version === version)
      throw new DataError("invalid", `channel "${channel}" is already on ${version}`);
    rollout.from_version = current?.version ?? null;
    await trx.insertInto("rollouts").values(rollout).execute();
    if (current) {
      const result = await trx
        .updateTable("channels")
        .set({ rollout_id: rollout.id, updated_at: now })
        .where("project", "=", project)
        .where("name", "=", channel)
        .where("rollout_id", "is", null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0)
        throw new DataError("conflict", `channel "${channel}" changed meanwhile; try again`);
    } else {
      await trx
        .insertInto("channels")
        .values({ project, name: channel, version: null, rollout_id: rollout.id, updated_at: now })
        .execute();
    }
    await recordAudit(trx, now, {
      actor: change.actor,
      action: "rollout.start",
      project,
      target: rollout.id,
      detail: { ...asked, from: rollout.from_version },
    });
  });
  return rollout;
}

/** The newest `limit` rollouts of `project`, newest first. */
export function listRollouts(db: Db, project: string, limit: number): Promise<Rollout[]> {
  return db
    .selectFrom("rollouts")
    .selectAll()
    .where("project", "=", project)
    .orderBy("created_at", "desc")
    .limit(limit)
    .execute();
}

/**
 * Moves a running rollout to its next step now; a conflict when it is not running, is at its last
 * step, or changed meanwhile.
 */
export async function advanceRollout(db: Db, rollout: Rollout, change: Change): Promise<void> {
  const { id } = rollout;
  if (rollout.state !== "running" || rollout.step >= parseSteps(rollout).length - 1)
    throw new DataError("conflict", `rollout ${id} is ${rollout.state} at its step ${rollout.step}; it cannot advance`);
  if (!(await advanceStep(db, rollout, change.at, change.actor)))
    throw new DataError("conflict", `rollout ${id} changed meanwhile`);
}

/**
 * Pauses a running rollout, resumes a paused one (its step's wait starts again) or aborts either
 * (its channel stays on the release it had); a conflict from any other state, or when the rollout
 * changed meanwhile.
 */
export async function changeRolloutState(
  db: Db,
  rollout: Rollout,
  action: "pause" | "resume" | "abort",
  change: Change,
): Promise<void> {
  const { id, project } = rollout;
  const { actor, at: now } = change;
  const from = action === "resume" ? ["paused"] : action === "pause" ? ["running"] : ["running", "paused"];
  if (!from.includes(rollout.state))
    throw new DataError("conflict", `rollout ${id} is ${rollout.state}; cannot ${action} it`);
  const state = action === "resume" ? "running" : action === "pause" ? "paused" : "aborted";
  await db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable("rollouts")
      .set({
        state,
        updated_at: now,
        ...(action === "resume" ? { step_started_at: now, reason: null } : {}),
        ...(action === "pause" ? { reason: `paused by ${actor}` } : {}),
      })
      .where("id", "=", id)
      .where("state", "=", rollout.state)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new DataError("conflict", `rollout ${id} changed meanwhile`);
    if (state === "aborted")
      await trx
        .updateTable("channels")
        .set({ rollout_id: null, updated_at: now })
        .where("project", "=", project)
        .where("name", "=", rollout.channel)
        .where("rollout_id", "=", id)
        .execute();
    await recordAudit(trx, now, { actor, action: `rollout.${action}`, project, target: id });
  });
}

export async function requireRollout(db: Db, project: string, id: string): Promise<Rollout> {
  const rollout = await db
    .selectFrom("rollouts")
    .selectAll()
    .where("project", "=", project)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!rollout) throw new DataError("not-found", `project "${project}" has no rollout ${id}`);
  return rollout;
}

/** A rollout as the API shows it, with its health and how many devices run its release. */
export async function rolloutView(db: Db, r: Rollout): Promise<RolloutView> {
  const steps = parseSteps(r);
  const onTarget = await db
    .selectFrom("devices")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .where("project", "=", r.project)
    .where("version", "=", r.to_version)
    .executeTakeFirstOrThrow();
  return {
    id: r.id,
    channel: r.channel,
    from: r.from_version,
    to: r.to_version,
    steps,
    step: r.step,
    percent: steps[r.step]!,
    state: r.state,
    reason: r.reason,
    minWaitSeconds: r.min_wait_ms / 1000,
    failurePercent: r.failure_percent,
    minFailures: r.min_failures,
    stepStartedAt: new Date(r.step_started_at).toISOString(),
    createdAt: new Date(r.created_at).toISOString(),
    health: await rolloutHealth(db, r.id),
    devicesOnTarget: Number(onTarget.n),
  };
}
