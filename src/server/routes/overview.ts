/** Admin: the fleet of one project at a glance (the dashboard's fleet page; data/overview.ts). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Overview, OverviewQuery } from "../api-schemas.ts";
import type { ServerContext } from "../context.ts";
import { fleetOverview } from "../data/index.ts";
import { ProjectParams } from "../schemas.ts";

export const overviewRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  app.get(
    "/projects/:project/overview",
    { schema: { params: ProjectParams, querystring: OverviewQuery, response: { 200: Overview } } },
    async (request) => {
      const staleSeconds = Number(request.query.staleSeconds ?? 3600);
      return fleetOverview(ctx.db.kysely, request.params.project, ctx.now(), staleSeconds);
    },
  );
};
