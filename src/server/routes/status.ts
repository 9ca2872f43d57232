/**
 * A plain status page at `/` (the dashboard comes later) and `/healthz` for load balancers. The page
 * refreshes itself every 5 s: per project its channels and rollouts, how many devices run which
 * release in which state, and the devices seen last.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type Kysely, sql } from "kysely";
import type { Database } from "../../db/index.ts";
import type { ServerContext } from "../context.ts";
import { parseSteps, rolloutHealth } from "../rollouts/engine.ts";

/** Devices listed by name on the page, most recently seen first. */
const DEVICES_LISTED = 50;

const escapeHtml = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const table = (head: string[], rows: string[][]) =>
  `<table><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>` +
  rows.map((r) => `<tr>${r.map((cell) => `<td>${cell}</td>`).join("")}</tr>`).join("") +
  "</table>";

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never". */
export function ago(at: number | null, now: number): string {
  if (at === null) return "never";
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

async function channelRows(db: Kysely<Database>, project: string, now: number): Promise<string[][]> {
  const channels = await db
    .selectFrom("channels")
    .selectAll()
    .where("project", "=", project)
    .orderBy("name")
    .execute();
  const rows: string[][] = [];
  for (const channel of channels) {
    let rollout = "";
    if (channel.rollout_id) {
      const r = await db
        .selectFrom("rollouts")
        .selectAll()
        .where("id", "=", channel.rollout_id)
        .executeTakeFirstOrThrow();
      const h = await rolloutHealth(db, r.id);
      const steps = parseSteps(r);
      const on = await db
        .selectFrom("devices")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("project", "=", project)
        .where("version", "=", r.to_version)
        .executeTakeFirstOrThrow();
      const wait = r.step_started_at + r.min_wait_ms - now;
      const next =
        r.state !== "running"
          ? ""
          : wait > 0
            ? `, next step in ${Math.ceil(wait / 1000)} s`
            : ", next step due";
      rollout =
        `${escapeHtml(r.state)} rollout to ${escapeHtml(r.to_version)}: step ${r.step + 1} of ${steps.length} ` +
        `(offered to ${steps[r.step]}% of devices${next}); ${Number(on.n)} device(s) on ${escapeHtml(r.to_version)}; ` +
        `${h.confirmed} confirmed, ${h.failed} failed of ${h.reported} reporting` +
        (r.reason ? `; ${escapeHtml(r.reason)}` : "");
    }
    rows.push([escapeHtml(channel.name), escapeHtml(channel.version ?? "-"), rollout]);
  }
  return rows;
}

async function projectSection(db: Kysely<Database>, name: string, now: number): Promise<string> {
  const statuses = await db
    .selectFrom("devices")
    .select(["status", (eb) => eb.fn.countAll<number | string>().as("n")])
    .where("project", "=", name)
    .groupBy("status")
    .execute();
  const seen = await db
    .selectFrom("devices")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .where("project", "=", name)
    .where("last_seen", ">=", now - 3_600_000)
    .executeTakeFirstOrThrow();
  const running = await db
    .selectFrom("devices")
    .select(["version", "state", (eb) => eb.fn.countAll<number | string>().as("n")])
    .where("project", "=", name)
    .where("last_seen", "is not", null)
    .groupBy(["version", "state"])
    .orderBy("version")
    .orderBy("state")
    .execute();
  const recent = await db
    .selectFrom("devices")
    .select(["id", "status", "version", "state", "failed", "last_seen"])
    .where("project", "=", name)
    // never-seen devices last on both databases (PostgreSQL sorts nulls first when descending)
    .orderBy(sql`case when last_seen is null then 1 else 0 end`)
    .orderBy("last_seen", "desc")
    .orderBy("id")
    .limit(DEVICES_LISTED + 1)
    .execute();
  const total = statuses.reduce((n, c) => n + Number(c.n), 0);
  const byStatus = statuses.map((c) => `${Number(c.n)} ${escapeHtml(c.status)}`).join(", ") || "no devices";
  const parts = [
    `<h2>${escapeHtml(name)}</h2><p>${byStatus}; ${Number(seen.n)} seen in the last hour</p>`,
    table(["channel", "version", "rollout"], await channelRows(db, name, now)),
  ];
  if (running.length > 0)
    parts.push(
      "<h3>Releases running</h3>",
      table(
        ["version", "state", "devices"],
        running.map((r) => [escapeHtml(r.version ?? "-"), escapeHtml(r.state ?? "-"), String(Number(r.n))]),
      ),
    );
  if (recent.length > 0)
    parts.push(
      `<h3>Devices${total > DEVICES_LISTED ? ` (the ${DEVICES_LISTED} seen last of ${total})` : ""}</h3>`,
      table(
        ["device", "version", "state", "last seen"],
        recent
          .slice(0, DEVICES_LISTED)
          .map((d) => [
            escapeHtml(d.id) + (d.status === "active" ? "" : ` (${escapeHtml(d.status)})`),
            escapeHtml(d.version ?? "-"),
            escapeHtml(d.state ?? "-") + (d.failed ? ` (${escapeHtml(d.failed)} failed)` : ""),
            d.last_seen === null
              ? "never"
              : `<span title="${new Date(d.last_seen).toISOString()}">${ago(d.last_seen, now)}</span>`,
          ]),
      ),
    );
  return parts.join("\n");
}

export const statusRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  // Healthy: the database answers and the device API takes requests (503 while it refuses them).
  app.get("/healthz", async (_request, reply) => {
    await db.selectFrom("projects").select("name").limit(1).execute();
    const load = ctx.deviceLoad;
    return reply
      .code(load.full ? 503 : 200)
      .send({ ok: !load.full, deviceRequests: load.inFlight, maxConcurrent: ctx.limits.maxConcurrent });
  });

  app.get("/", async (_request, reply) => {
    const now = ctx.now();
    const projects = await db.selectFrom("projects").select("name").orderBy("name").execute();
    const sections: string[] = [];
    for (const { name } of projects) sections.push(await projectSection(db, name, now));
    const body =
      sections.join("\n") || "<p>No projects yet: create one with <code>mpota project add NAME</code>.</p>";
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(
        `<!doctype html><html><head><meta charset="utf-8"><title>mpota server</title>` +
          `<meta http-equiv="refresh" content="5">` +
          `<style>body{font:15px system-ui,sans-serif;margin:2em}td,th{padding:.2em .8em;text-align:left}</style></head>` +
          `<body><h1>mpota update server</h1>\n${body}\n` +
          `<p><small>as of ${new Date(now).toISOString()}; this page refreshes every 5 s</small></p></body></html>\n`,
      );
  });
};
