/** Admin: admin tokens (roles admin and read-only) and the audit log. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import { createAdminToken, deleteAdminToken, listAdminTokens, listAudit } from "../data/index.ts";
import { DataError } from "../errors.ts";
import { Count, Name, strict } from "../schemas.ts";

const Role = Type.Union([Type.Literal("admin"), Type.Literal("read-only")]);

export const tokenRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  app.get("/tokens", async () => {
    const rows = await listAdminTokens(db);
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
      await deleteAdminToken(db, id, { actor: actorOf(request), at: ctx.now() });
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
      const limit = Math.min(Number(request.query.limit ?? 100), 1000);
      const rows = await listAudit(db, limit, request.query.project);
      return {
        entries: rows.map((r) => ({ ...r, at: new Date(r.at).toISOString(), detail: JSON.parse(r.detail) })),
      };
    },
  );
};
