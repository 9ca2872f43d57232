/** A plain status page at `/` (the dashboard comes later) and `/healthz` for load balancers. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { ServerContext } from "../context.ts";
import { parseSteps, rolloutHealth } from "../rollouts/engine.ts";

const escapeHtml = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const statusRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  app.get("/healthz", async () => {
    await db.selectFrom("projects").select("name").limit(1).execute();
    return { ok: true };
  });

  app.get("/", async (_request, reply) => {
    const hourAgo = ctx.now() - 3_600_000;
    const projects = await db.selectFrom("projects").select("name").orderBy("name").execute();
    const sections: string[] = [];
    for (const { name } of projects) {
      const counts = await db
        .selectFrom("devices")
        .select(["status", (eb) => eb.fn.countAll<number | string>().as("n")])
        .where("project", "=", name)
        .groupBy("status")
        .execute();
      const seen = await db
        .selectFrom("devices")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("project", "=", name)
        .where("last_seen", ">=", hourAgo)
        .executeTakeFirstOrThrow();
      const channels = await db
        .selectFrom("channels")
        .selectAll()
        .where("project", "=", name)
        .orderBy("name")
        .execute();
      const rows: string[] = [];
      for (const channel of channels) {
        let rollout = "";
        if (channel.rollout_id) {
          const r = await db
            .selectFrom("rollouts")
            .selectAll()
            .where("id", "=", channel.rollout_id)
            .executeTakeFirstOrThrow();
          const h = await rolloutHealth(db, r.id);
          rollout = `${escapeHtml(r.state)} rollout to ${escapeHtml(r.to_version)} at ${parseSteps(r)[r.step]}% (${h.confirmed} confirmed, ${h.failed} failed of ${h.reported})${r.reason ? `: ${escapeHtml(r.reason)}` : ""}`;
        }
        rows.push(
          `<tr><td>${escapeHtml(channel.name)}</td><td>${escapeHtml(channel.version ?? "-")}</td><td>${rollout}</td></tr>`,
        );
      }
      const byStatus = counts.map((c) => `${Number(c.n)} ${escapeHtml(c.status)}`).join(", ") || "no devices";
      sections.push(
        `<h2>${escapeHtml(name)}</h2><p>${byStatus}; ${Number(seen.n)} seen in the last hour</p>` +
          `<table><tr><th>channel</th><th>version</th><th>rollout</th></tr>${rows.join("")}</table>`,
      );
    }
    const body =
      sections.join("\n") || "<p>No projects yet: create one with <code>mpota project add NAME</code>.</p>";
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(
        `<!doctype html><html><head><meta charset="utf-8"><title>mpota server</title>` +
          `<style>body{font:15px system-ui,sans-serif;margin:2em}td,th{padding:.2em .8em;text-align:left}</style></head>` +
          `<body><h1>mpota update server</h1>\n${body}\n</body></html>\n`,
      );
  });
};
