/** Admin: provision devices (`mpota device add`), list them, accept, revoke, tag and pin them. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import Type from "typebox";
import type { Device } from "../../db/index.ts";
import { DeviceDetail, DeviceList, DeviceQuery, type DeviceView } from "../api-schemas.ts";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import {
  deviceEvents,
  findDevices,
  provisionDevice,
  requireDevice,
  requireProject,
  requireRelease,
  setDeviceToken,
  updateDevice,
} from "../data/index.ts";
import { DataError } from "../errors.ts";
import { DeviceId, Name, ProjectParams, strict, Tag, Version } from "../schemas.ts";
import { newToken } from "../tokens.ts";

const DeviceParams = Type.Object({ project: Name, id: DeviceId });

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

export const deviceRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;
  const change = (request: FastifyRequest) => ({ actor: actorOf(request), at: ctx.now() });

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
      await requireProject(db, project);
      if (pin) await requireRelease(db, project, pin);
      const { token, hash } = newToken("device");
      await provisionDevice(db, project, { id, tags, pin: pin ?? null, tokenHash: hash }, change(request));
      return reply.code(201).send({ id, token, status: "active" });
    },
  );

  app.get(
    "/projects/:project/devices",
    { schema: { params: ProjectParams, querystring: DeviceQuery, response: { 200: DeviceList } } },
    async (request) => {
      const { project } = request.params;
      await requireProject(db, project);
      const limit = Math.min(Number(request.query.limit ?? 100), 1000);
      const found = await findDevices(db, project, request.query, limit, ctx.now());
      const devices = found.devices.map(deviceView);
      return { total: found.total, devices, next: found.more ? devices[devices.length - 1]!.id : null };
    },
  );

  app.get(
    "/projects/:project/devices/:id",
    { schema: { params: DeviceParams, response: { 200: DeviceDetail } } },
    async (request) => {
      const device = await requireDevice(db, request.params.project, request.params.id);
      const events = await deviceEvents(db, device);
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
      const device = await requireDevice(db, project, id);
      const { status, tags, pin } = request.body;
      if (pin) await requireRelease(db, project, pin);
      if (status === "active" && device.status === "revoked")
        throw new DataError(
          "conflict",
          `device "${id}" is revoked; provision it again under a new id or token`,
        );
      const changes: Partial<Device> = {};
      if (status) changes.status = status;
      if (tags) changes.tags = JSON.stringify(tags);
      if (pin !== undefined) changes.pin = pin;
      await updateDevice(db, project, id, changes, request.body, change(request));
      return deviceView({ ...device, ...changes });
    },
  );

  app.post(
    "/projects/:project/devices/:id/token",
    { schema: { params: DeviceParams } },
    async (request, reply) => {
      const { project, id } = request.params;
      const device = await requireDevice(db, project, id);
      if (device.status === "revoked") throw new DataError("conflict", `device "${id}" is revoked`);
      const { token, hash } = newToken("device");
      await setDeviceToken(db, project, id, hash, change(request));
      return reply.code(201).send({ id, token, status: device.status });
    },
  );
};
