/** Admin: provision devices (`mpota device add`), list them, accept, revoke, tag and pin them. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { sql } from "kysely";
import Type from "typebox";
import type { Device } from "../../db/index.ts";
import { DeviceDetail, DeviceList, DeviceQuery, type DeviceView } from "../api-schemas.ts";
import { recordAudit } from "../audit.ts";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import { requireProject, requireRelease } from "../data/index.ts";
import { DataError } from "../errors.ts";
import { DeviceId, Name, ProjectParams, strict, Tag, Version } from "../schemas.ts";
import { newToken } from "../tokens.ts";

const DeviceParams = Type.Object({ project: Name, id: DeviceId });

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

function deviceView(d: Device): DeviceView {
  return {
    id: d.id,
    status: d.status,
    tags: JSON.parse(d.tags) as string[],
    pin: d.pin,
    version: d.version,
    state: d.state,
    failed: d.failed,
    lastSeen: d.last_seen === null ? null : new Date(d.last_seen).toISOString(),
    createdAt: new Date(d.created_at).toISOString(),
  };
}

async function requireDevice(ctx: ServerContext, project: string, id: string): Promise<Device> {
  const device = await ctx.db.kysely
    .selectFrom("devices")
    .selectAll()
    .where("project", "=", project)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!device) throw new DataError("not-found", `project "${project}" has no device "${id}"`);
  return device;
}

export const deviceRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  app.post(
    "/projects/:project/devices",
    {
      schema: {
        params: ProjectParams,
        body: Type.Object(
          {
            id: DeviceId,
            tags: Type.Optional(Type.Array(Tag, { maxItems: 32 })),
            pin: Type.Optional(Version),
          },
          strict,
        ),
      },
    },
    async (request, reply) => {
      const { project } = request.params;
      const { id, tags = [], pin } = request.body;
      await requireProject(ctx.db.kysely, project);
      if (pin) await requireRelease(ctx.db.kysely, project, pin);
      const { token, hash } = newToken("device");
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        const result = await trx
          .insertInto("devices")
          .values({
            project,
            id,
            token_hash: hash,
            status: "active",
            tags: JSON.stringify(tags),
            pin: pin ?? null,
            created_at: now,
          })
          .onConflict((oc) => oc.columns(["project", "id"]).doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0)
          throw new DataError("conflict", `device "${id}" already exists in project "${project}"`);
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "device.provision",
          project,
          target: id,
          detail: { tags, pin: pin ?? null },
        });
      });
      return reply.code(201).send({ id, token, status: "active" });
    },
  );

  app.get(
    "/projects/:project/devices",
    { schema: { params: ProjectParams, querystring: DeviceQuery, response: { 200: DeviceList } } },
    async (request) => {
      const { project } = request.params;
      await requireProject(ctx.db.kysely, project);
      const q = request.query;
      const now = ctx.now();
      const limit = Math.min(Number(q.limit ?? 100), 1000);
      let query = db.selectFrom("devices").where("project", "=", project);
      if (q.status) query = query.where("status", "=", q.status);
      // tags are a JSON list of plain words, so a quoted substring match is exact
      if (q.tag) query = query.where(sql<boolean>`tags like ${`%"${likeEscape(q.tag)}"%`} escape '\\'`);
      if (q.q)
        query = query.where(sql<boolean>`lower(id) like ${`%${likeEscape(q.q.toLowerCase())}%`} escape '\\'`);
      if (q.version === "none") query = query.where("version", "is", null);
      else if (q.version) query = query.where("version", "=", q.version);
      if (q.state) query = query.where("state", "=", q.state);
      if (q.seenWithin) query = query.where("last_seen", ">=", now - Number(q.seenWithin) * 1000);
      if (q.notSeenFor) {
        const before = now - Number(q.notSeenFor) * 1000;
        query = query.where((eb) => eb.or([eb("last_seen", "is", null), eb("last_seen", "<", before)]));
      }
      const { total } = await query
        .select((eb) => eb.fn.countAll<number | string>().as("total"))
        .executeTakeFirstOrThrow();
      // Keyset paging (`after`: the last id of the page before) stays fast deep into 100,000 devices;
      // `offset` is kept for the CLI.
      let page = query
        .selectAll()
        .orderBy("id")
        .limit(limit + 1);
      if (q.after) page = page.where("id", ">", q.after);
      else if (q.offset) page = page.offset(Number(q.offset));
      const rows = await page.execute();
      const more = rows.length > limit;
      const devices = rows.slice(0, limit).map(deviceView);
      return { total: Number(total), devices, next: more ? devices[devices.length - 1]!.id : null };
    },
  );

  app.get(
    "/projects/:project/devices/:id",
    { schema: { params: DeviceParams, response: { 200: DeviceDetail } } },
    async (request) => {
      const device = await requireDevice(ctx, request.params.project, request.params.id);
      const events = await db
        .selectFrom("events")
        .select(["version", "event", "error", "at"])
        .where("project", "=", device.project)
        .where("device_id", "=", device.id)
        .orderBy("at", "desc")
        .limit(100)
        .execute();
      return {
        ...deviceView(device),
        events: events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
      };
    },
  );

  app.patch(
    "/projects/:project/devices/:id",
    {
      schema: {
        params: DeviceParams,
        body: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("revoked")])),
            tags: Type.Optional(Type.Array(Tag, { maxItems: 32 })),
            pin: Type.Optional(Type.Union([Version, Type.Null()])),
          },
          { ...strict, minProperties: 1 },
        ),
      },
    },
    async (request) => {
      const { project, id } = request.params;
      const device = await requireDevice(ctx, project, id);
      const { status, tags, pin } = request.body;
      if (pin) await requireRelease(ctx.db.kysely, project, pin);
      if (status === "active" && device.status === "revoked")
        throw new DataError(
          "conflict",
          `device "${id}" is revoked; provision it again under a new id or token`,
        );
      const changes: Partial<Device> = {};
      if (status) changes.status = status;
      if (tags) changes.tags = JSON.stringify(tags);
      if (pin !== undefined) changes.pin = pin;
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("devices")
          .set(changes)
          .where("project", "=", project)
          .where("id", "=", id)
          .execute();
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "device.update",
          project,
          target: id,
          detail: request.body,
        });
      });
      return deviceView({ ...device, ...changes });
    },
  );

  app.post(
    "/projects/:project/devices/:id/token",
    { schema: { params: DeviceParams } },
    async (request, reply) => {
      const { project, id } = request.params;
      const device = await requireDevice(ctx, project, id);
      if (device.status === "revoked") throw new DataError("conflict", `device "${id}" is revoked`);
      const { token, hash } = newToken("device");
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("devices")
          .set({ token_hash: hash })
          .where("project", "=", project)
          .where("id", "=", id)
          .execute();
        await recordAudit(trx, now, { actor: actorOf(request), action: "device.token", project, target: id });
      });
      return reply.code(201).send({ id, token, status: device.status });
    },
  );
};
