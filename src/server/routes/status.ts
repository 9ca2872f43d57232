/** `/healthz` for load balancers: the server answers and its database does. (`/` is the dashboard.) */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { ServerContext } from "../context.ts";

export const statusRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  app.get("/healthz", async () => {
    await db.selectFrom("projects").select("name").limit(1).execute();
    return { ok: true };
  });
};
