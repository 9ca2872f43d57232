/** `/healthz` for load balancers: the server answers and its database does. (`/` is the dashboard.) */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { ServerContext } from "../context.ts";
import { pingDatabase } from "../data/index.ts";

export const statusRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  // Healthy: the database answers and the device API takes requests (503 while it refuses them).
  // The cache's figures tell whether a node just started has read the fleet in yet.
  app.get("/healthz", async (_request, reply) => {
    await pingDatabase(ctx.db.kysely);
    const load = ctx.deviceLoad;
    return reply.code(load.full ? 503 : 200).send({
      ok: !load.full,
      deviceRequests: load.inFlight,
      maxConcurrent: ctx.limits.maxConcurrent,
      cachedDevices: ctx.cache.deviceCount,
      warm: ctx.cache.warm,
    });
  });
};
