/**
 * The fleet of one project at a glance (the dashboard's fleet page): devices by status, by the
 * release and state they report, its channels and their rollouts, the devices gone silent, and
 * check-ins and failures per minute over the last hour. Every count is one indexed query.
 */
import { type Kysely, sql } from "kysely";
import type { Database, DeviceStatus } from "../../db/index.ts";
import type { Overview } from "../api-schemas.ts";
import { requireProject } from "./projects.ts";
import { rolloutView } from "./rollouts.ts";

type Db = Kysely<Database>;

const MINUTE = 60_000;
const TIMELINE_MINUTES = 60;
/** Silent devices listed by name (the count covers all). */
const STALE_LISTED = 20;

/** The overview of `project` at `now`; devices silent for `staleSeconds` count as stale. */
export async function fleetOverview(db: Db, project: string, now: number, staleSeconds: number): Promise<Overview> {
  await requireProject(db, project);
  return {
    project,
    at: new Date(now).toISOString(),
    devices: await deviceTotals(db, project, now),
    running: await runningReleases(db, project),
    channels: await channelsWithRollouts(db, project),
    stale: await staleDevices(db, project, now, staleSeconds),
    timeline: await checkinTimeline(db, project, now),
  };
}

/**
 * The project's devices with `status` (any when left out) last seen before `silentSince` (null:
 * never seen; left out: whenever). Counted by index ranges that stay small in a healthy fleet (few
 * pending, revoked or silent devices) and one pass over the narrowest index for the total: cheaper
 * than grouping 100,000 devices by status, or counting the many that were seen.
 */
async function countDevices(
  db: Db,
  project: string,
  where: { status?: DeviceStatus; silentSince?: number | null },
): Promise<number> {
  let query = db
    .selectFrom("devices")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .where("project", "=", project);
  if (where.status) query = query.where("status", "=", where.status);
  if (where.silentSince === null) query = query.where("last_seen", "is", null);
  else if (where.silentSince !== undefined) query = query.where("last_seen", "<", where.silentSince);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

async function deviceTotals(db: Db, project: string, now: number): Promise<Overview["devices"]> {
  const total = await countDevices(db, project, {});
  const pending = await countDevices(db, project, { status: "pending" });
  const revoked = await countDevices(db, project, { status: "revoked" });
  const hourAgo = now - 3_600_000;
  const seenLastHour =
    total -
    (await countDevices(db, project, { silentSince: null })) -
    (await countDevices(db, project, { silentSince: hourAgo }));
  return { total, pending, active: total - pending - revoked, revoked, seenLastHour };
}

/** How many devices report each release and state. */
async function runningReleases(db: Db, project: string): Promise<Overview["running"]> {
  const rows = await db
    .selectFrom("devices")
    .select(["version", "state", (eb) => eb.fn.countAll<number | string>().as("n")])
    .where("project", "=", project)
    .groupBy(["version", "state"])
    // devices that never checked in last, on both databases
    .orderBy(sql`case when version is null then 1 else 0 end`)
    .orderBy("version")
    .orderBy("state")
    .execute();
  return rows.map((r) => ({ version: r.version, state: r.state, devices: Number(r.n) }));
}

/** The project's channels by name, each with the rollout in progress on it, if any. */
async function channelsWithRollouts(db: Db, project: string): Promise<Overview["channels"]> {
  const rows = await db
    .selectFrom("channels")
    .selectAll()
    .where("project", "=", project)
    .orderBy("name")
    .execute();
  const channels = [];
  for (const c of rows) {
    const rollout = c.rollout_id
      ? await db.selectFrom("rollouts").selectAll().where("id", "=", c.rollout_id).executeTakeFirst()
      : undefined;
    channels.push({ name: c.name, version: c.version, rollout: rollout ? await rolloutView(db, rollout) : null });
  }
  return channels;
}

/** Active devices not seen for `staleSeconds` (or never): how many, and the longest silent by name. */
async function staleDevices(db: Db, project: string, now: number, staleSeconds: number): Promise<Overview["stale"]> {
  const staleBefore = now - staleSeconds * 1000;
  const total =
    (await countDevices(db, project, { status: "active", silentSince: null })) +
    (await countDevices(db, project, { status: "active", silentSince: staleBefore }));
  const rows = await db
    .selectFrom("devices")
    .where("project", "=", project)
    .where("status", "=", "active")
    .where((eb) => eb.or([eb("last_seen", "is", null), eb("last_seen", "<", staleBefore)]))
    .select(["id", "version", "last_seen"])
    // never-seen devices first on both databases, in the order of the devices_status index
    .orderBy(sql`last_seen asc nulls first`)
    .limit(STALE_LISTED)
    .execute();
  return {
    seconds: staleSeconds,
    total,
    devices: rows.map((d) => ({
      id: d.id,
      version: d.version,
      lastSeen: d.last_seen === null ? null : new Date(d.last_seen).toISOString(),
    })),
  };
}

/** Check-ins served and failures reported per minute over the last TIMELINE_MINUTES minutes. */
async function checkinTimeline(db: Db, project: string, now: number): Promise<Overview["timeline"]> {
  const start = now - (now % MINUTE) - (TIMELINE_MINUTES - 1) * MINUTE;
  const checkins = new Array<number>(TIMELINE_MINUTES).fill(0);
  const failures = new Array<number>(TIMELINE_MINUTES).fill(0);
  const counted = await db
    .selectFrom("checkin_counts")
    .select(["minute", "n"])
    .where("project", "=", project)
    .where("minute", ">=", start)
    .execute();
  for (const c of counted) {
    const i = Math.floor((Number(c.minute) - start) / MINUTE);
    if (i >= 0 && i < TIMELINE_MINUTES) checkins[i]! += Number(c.n);
  }
  // bucketed in the database: a bad hour of a big fleet is many events
  const failed = await db
    .selectFrom("events")
    .select([
      sql<number | string>`(at - ${sql.lit(start)}) / ${sql.lit(MINUTE)}`.as("i"),
      (eb) => eb.fn.countAll<number | string>().as("n"),
    ])
    .where("project", "=", project)
    .where("at", ">=", start)
    .where("event", "in", ["failed", "rolled_back"])
    .groupBy(sql`(at - ${sql.lit(start)}) / ${sql.lit(MINUTE)}`)
    .execute();
  for (const f of failed) {
    const i = Math.floor(Number(f.i));
    if (i >= 0 && i < TIMELINE_MINUTES) failures[i]! += Number(f.n);
  }
  return { start, stepSeconds: MINUTE / 1000, checkins, failures };
}
