/** Admin: projects, their public keys, the enrolment token, and version pins by device tag. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Kysely } from "kysely";
import Type from "typebox";
import type { Database } from "../../db/index.ts";
import { keyIdOf } from "../../manifest/index.ts";
import { recordAudit } from "../audit.ts";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import { DataError } from "../errors.ts";
import { Hex64, Name, ProjectParams, strict, Tag, Version } from "../schemas.ts";
import { newToken } from "../tokens.ts";

export async function requireProject(ctx: ServerContext, name: string) {
  const project = await ctx.db.kysely
    .selectFrom("projects")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirst();
  if (!project) throw new DataError("not-found", `no project "${name}"`);
  return project;
}

/** The release `version` of `project`, or undefined. */
export function findRelease(db: Kysely<Database>, project: string, version: string) {
  return db
    .selectFrom("releases")
    .selectAll()
    .where("project", "=", project)
    .where("version", "=", version)
    .executeTakeFirst();
}

export async function requireRelease(ctx: ServerContext, project: string, version: string) {
  const release = await findRelease(ctx.db.kysely, project, version);
  if (!release) throw new DataError("not-found", `project "${project}" has no release ${version}`);
  return release;
}

function projectView(p: {
  name: string;
  auto_accept: number;
  enrol_token_hash: string | null;
  created_at: number;
}) {
  return {
    name: p.name,
    autoAccept: p.auto_accept === 1,
    enrolment: p.enrol_token_hash !== null,
    createdAt: new Date(p.created_at).toISOString(),
  };
}

export const projectRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  app.get("/projects", async () => {
    const rows = await db.selectFrom("projects").selectAll().orderBy("name").execute();
    return { projects: rows.map(projectView) };
  });

  app.post(
    "/projects",
    { schema: { body: Type.Object({ name: Name, autoAccept: Type.Optional(Type.Boolean()) }, strict) } },
    async (request, reply) => {
      const { name, autoAccept } = request.body;
      const now = ctx.now();
      const row = { name, auto_accept: autoAccept ? 1 : 0, enrol_token_hash: null, created_at: now };
      await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto("projects")
          .values(row)
          .onConflict((oc) => oc.column("name").doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0)
          throw new DataError("conflict", `project "${name}" already exists`);
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "project.create",
          project: name,
          detail: { autoAccept: !!autoAccept },
        });
      });
      return reply.code(201).send(projectView(row));
    },
  );

  app.get("/projects/:project", { schema: { params: ProjectParams } }, async (request) => {
    const project = await requireProject(ctx, request.params.project);
    const keys = await db
      .selectFrom("keys")
      .select(["keyid", "public_key"])
      .where("project", "=", project.name)
      .orderBy("keyid")
      .execute();
    const channels = await db
      .selectFrom("channels")
      .selectAll()
      .where("project", "=", project.name)
      .orderBy("name")
      .execute();
    return {
      ...projectView(project),
      keys: keys.map((k) => ({ keyid: k.keyid, publicKey: k.public_key })),
      channels: channels.map((c) => ({ name: c.name, version: c.version, rollout: c.rollout_id })),
    };
  });

  app.patch(
    "/projects/:project",
    { schema: { params: ProjectParams, body: Type.Object({ autoAccept: Type.Boolean() }, strict) } },
    async (request) => {
      const project = await requireProject(ctx, request.params.project);
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("projects")
          .set({ auto_accept: request.body.autoAccept ? 1 : 0 })
          .where("name", "=", project.name)
          .execute();
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "project.update",
          project: project.name,
          detail: request.body,
        });
      });
      return projectView({ ...project, auto_accept: request.body.autoAccept ? 1 : 0 });
    },
  );

  app.post(
    "/projects/:project/enrolment-token",
    { schema: { params: ProjectParams } },
    async (request, reply) => {
      const project = await requireProject(ctx, request.params.project);
      const { token, hash } = newToken("enrolment");
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("projects")
          .set({ enrol_token_hash: hash })
          .where("name", "=", project.name)
          .execute();
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "project.enrolment-token",
          project: project.name,
        });
      });
      return reply.code(201).send({ token });
    },
  );

  app.delete(
    "/projects/:project/enrolment-token",
    { schema: { params: ProjectParams } },
    async (request, reply) => {
      const project = await requireProject(ctx, request.params.project);
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("projects")
          .set({ enrol_token_hash: null })
          .where("name", "=", project.name)
          .execute();
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "project.enrolment-close",
          project: project.name,
        });
      });
      return reply.code(204).send();
    },
  );

  app.post(
    "/projects/:project/keys",
    { schema: { params: ProjectParams, body: Type.Object({ publicKey: Hex64 }, strict) } },
    async (request, reply) => {
      const project = await requireProject(ctx, request.params.project);
      const { publicKey } = request.body;
      const keyid = keyIdOf(publicKey);
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("keys")
          .values({ project: project.name, keyid, public_key: publicKey, created_at: now })
          .onConflict((oc) => oc.columns(["project", "keyid"]).doNothing())
          .execute();
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "key.add",
          project: project.name,
          target: keyid,
          detail: { publicKey },
        });
      });
      return reply.code(201).send({ keyid, publicKey });
    },
  );

  app.delete(
    "/projects/:project/keys/:keyid",
    { schema: { params: Type.Object({ project: Name, keyid: Type.String({ pattern: "^[0-9a-f]{16}$" }) }) } },
    async (request, reply) => {
      const { project, keyid } = request.params;
      await requireProject(ctx, project);
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        const result = await trx
          .deleteFrom("keys")
          .where("project", "=", project)
          .where("keyid", "=", keyid)
          .executeTakeFirst();
        if (Number(result.numDeletedRows) === 0)
          throw new DataError("not-found", `project "${project}" has no key ${keyid}`);
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "key.remove",
          project,
          target: keyid,
        });
      });
      return reply.code(204).send();
    },
  );

  app.get("/projects/:project/pins", { schema: { params: ProjectParams } }, async (request) => {
    await requireProject(ctx, request.params.project);
    const pins = await db
      .selectFrom("tag_pins")
      .select(["tag", "version"])
      .where("project", "=", request.params.project)
      .orderBy("tag")
      .execute();
    return { pins };
  });

  app.put(
    "/projects/:project/pins/:tag",
    {
      schema: {
        params: Type.Object({ project: Name, tag: Tag }),
        body: Type.Object({ version: Version }, strict),
      },
    },
    async (request) => {
      const { project, tag } = request.params;
      await requireRelease(ctx, project, request.body.version);
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("tag_pins")
          .values({ project, tag, version: request.body.version })
          .onConflict((oc) => oc.columns(["project", "tag"]).doUpdateSet({ version: request.body.version }))
          .execute();
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "pin.tag",
          project,
          target: tag,
          detail: request.body,
        });
      });
      return { tag, version: request.body.version };
    },
  );

  app.delete(
    "/projects/:project/pins/:tag",
    { schema: { params: Type.Object({ project: Name, tag: Tag }) } },
    async (request, reply) => {
      const { project, tag } = request.params;
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        const result = await trx
          .deleteFrom("tag_pins")
          .where("project", "=", project)
          .where("tag", "=", tag)
          .executeTakeFirst();
        if (Number(result.numDeletedRows) === 0)
          throw new DataError("not-found", `no pin on tag "${tag}" in project "${project}"`);
        await recordAudit(trx, now, { actor: actorOf(request), action: "unpin.tag", project, target: tag });
      });
      return reply.code(204).send();
    },
  );
};
