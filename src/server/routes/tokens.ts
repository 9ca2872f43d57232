/** Admin: admin tokens (roles admin and read-only) and the audit log. */
import { randomUUID } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Kysely } from "kysely";
import Type from "typebox";
import type { AdminRole, Database } from "../../db/index.ts";
import { recordAudit } from "../audit.ts";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import { DataError } from "../errors.ts";
import { Count, Name, strict } from "../schemas.ts";
import { newToken } from "../tokens.ts";

const Role = Type.Union([Type.Literal("admin"), Type.Literal("read-only")]);

/**
 * On a server with no admin token yet, makes one and returns it (to print once); else undefined.
 * Several processes starting at once on one database create only one.
 */
export async function bootstrapAdminToken(db: Kysely<Database>, now: number): Promise<string | undefined> {
  const any = await db.selectFrom("admin_tokens").select("id").limit(1).executeTakeFirst();
  if (any) return undefined;
  const { token, hash } = newToken("admin");
  const result = await db
    .insertInto("admin_tokens")
    .values({ id: "bootstrap", name: "bootstrap", role: "admin", token_hash: hash, created_at: now })
    .onConflict((oc) => oc.column("id").doNothing())
    .executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
  await recordAudit(db, now, { actor: "system", action: "token.bootstrap", target: "bootstrap" });
  return token;
}

export async function createAdminToken(
  db: Kysely<Database>,
  name: string,
  role: AdminRole,
  now: number,
  actor: string,
) {
  const { token, hash } = newToken("admin");
  const id = randomUUID();
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("admin_tokens")
      .values({ id, name, role, token_hash: hash, created_at: now })
      .execute();
    await recordAudit(trx, now, { actor, action: "token.create", target: id, detail: { name, role } });
  });
  return { id, name, role, token };
}

export const tokenRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  app.get("/tokens", async () => {
    const rows = await db
      .selectFrom("admin_tokens")
      .select(["id", "name", "role", "created_at"])
      .orderBy("created_at")
      .execute();
    return {
      tokens: rows.map((r) => ({
        id: r.id,
        name: r.name,
        role: r.role,
        createdAt: new Date(r.created_at).toISOString(),
      })),
    };
  });

  app.post(
    "/tokens",
    { schema: { body: Type.Object({ name: Name, role: Role }, strict) } },
    async (request, reply) => {
      return reply
        .code(201)
        .send(await createAdminToken(db, request.body.name, request.body.role, ctx.now(), actorOf(request)));
    },
  );

  app.delete(
    "/tokens/:id",
    { schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } },
    async (request, reply) => {
      const { id } = request.params;
      if (request.admin?.id === id) throw new DataError("conflict", "a token cannot delete itself");
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom("admin_tokens").where("id", "=", id).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) throw new DataError("not-found", `no admin token ${id}`);
        await recordAudit(trx, now, { actor: actorOf(request), action: "token.delete", target: id });
      });
      return reply.code(204).send();
    },
  );

  app.get(
    "/audit",
    {
      schema: {
        querystring: Type.Object({ project: Type.Optional(Name), limit: Type.Optional(Count) }, strict),
      },
    },
    async (request) => {
      let query = db
        .selectFrom("audit")
        .selectAll()
        .orderBy("at", "desc")
        .limit(Math.min(Number(request.query.limit ?? 100), 1000));
      if (request.query.project) query = query.where("project", "=", request.query.project);
      const rows = await query.execute();
      return {
        entries: rows.map((r) => ({ ...r, at: new Date(r.at).toISOString(), detail: JSON.parse(r.detail) })),
      };
    },
  );
};
