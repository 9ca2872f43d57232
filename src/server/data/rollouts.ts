/** Staged rollouts as the database holds them, and as the API shows them. */
import type { Kysely } from "kysely";
import type { Database, Rollout } from "../../db/index.ts";
import type { RolloutView } from "../api-schemas.ts";
import { DataError } from "../errors.ts";
import { parseSteps, rolloutHealth } from "../rollouts/engine.ts";

type Db = Kysely<Database>;

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
