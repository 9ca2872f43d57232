/**
 * Admin: the fleet of one project at a glance (the dashboard's fleet page): devices by status, by the
 * release and state they report, its channels and their rollouts, the devices gone silent, and
 * check-ins and failures per minute over the last hour. Every count is one indexed query.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import { Overview, OverviewQuery } from "../api-schemas.ts";
import type { ServerContext } from "../context.ts";
import { requireProject, rolloutView } from "../data/index.ts";
import { ProjectParams } from "../schemas.ts";

const MINUTE = 60_000;
const TIMELINE_MINUTES = 60;
/** Silent devices listed by name (the count covers all). */
const STALE_LISTED = 20;

export const overviewRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  app.get(
    "/projects/:project/overview",
    { schema: { params: ProjectParams, querystring: OverviewQuery, response: { 200: Overview } } },
    async (request) => {
      const { project } = request.params;
      await requireProject(ctx.db.kysely, project);
      const now = ctx.now();
      const staleSeconds = Number(request.query.staleSeconds ?? 3600);
      const staleBefore = now - staleSeconds * 1000;
      // Counted by index ranges that stay small in a healthy fleet (few pending, revoked or silent
      // devices) and one pass over the narrowest index for the total: cheaper than grouping 100,000
      // devices by status, or counting the many that were seen.
      const count = async (where: {
        status?: "pending" | "revoked" | "active";
        silentSince?: number | null;
      }) => {
        let query = db
          .selectFrom("devices")
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .where("project", "=", project);
        if (where.status) query = query.where("status", "=", where.status);
        if (where.silentSince === null) query = query.where("last_seen", "is", null);
        else if (where.silentSince !== undefined) query = query.where("last_seen", "<", where.silentSince);
        return Number((await query.executeTakeFirstOrThrow()).n);
      };
      const total = await count({});
      const pending = await count({ status: "pending" });
      const revoked = await count({ status: "revoked" });
      const hourAgo = now - 3_600_000;
      const seenLastHour =
        total - (await count({ silentSince: null })) - (await count({ silentSince: hourAgo }));
      const staleTotal =
        (await count({ status: "active", silentSince: null })) +
        (await count({ status: "active", silentSince: staleBefore }));
      const running = await db
        .selectFrom("devices")
        .select(["version", "state", (eb) => eb.fn.countAll<number | string>().as("n")])
        .where("project", "=", project)
        .groupBy(["version", "state"])
        // devices that never checked in last, on both databases
        .orderBy(sql`case when version is null then 1 else 0 end`)
        .orderBy("version")
        .orderBy("state")
        .execute();

      const channelRows = await db
        .selectFrom("channels")
        .selectAll()
        .where("project", "=", project)
        .orderBy("name")
        .execute();
      const channels = [];
      for (const c of channelRows) {
        const rollout = c.rollout_id
          ? await db.selectFrom("rollouts").selectAll().where("id", "=", c.rollout_id).executeTakeFirst()
          : undefined;
        channels.push({
          name: c.name,
          version: c.version,
          rollout: rollout ? await rolloutView(ctx.db.kysely, rollout) : null,
        });
      }

      const silent = db
        .selectFrom("devices")
        .where("project", "=", project)
        .where("status", "=", "active")
        .where((eb) => eb.or([eb("last_seen", "is", null), eb("last_seen", "<", staleBefore)]));
      const staleRows = await silent
        .select(["id", "version", "last_seen"])
        // never-seen devices first on both databases, in the order of the devices_status index
        .orderBy(sql`last_seen asc nulls first`)
        .limit(STALE_LISTED)
        .execute();

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

      return {
        project,
        at: new Date(now).toISOString(),
        devices: { total, pending, active: total - pending - revoked, revoked, seenLastHour },
        running: running.map((r) => ({ version: r.version, state: r.state, devices: Number(r.n) })),
        channels,
        stale: {
          seconds: staleSeconds,
          total: staleTotal,
          devices: staleRows.map((d) => ({
            id: d.id,
            version: d.version,
            lastSeen: d.last_seen === null ? null : new Date(d.last_seen).toISOString(),
          })),
        },
        timeline: { start, stepSeconds: MINUTE / 1000, checkins, failures },
      };
    },
  );
};
