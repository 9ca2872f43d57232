/** Admin: staged rollouts of a channel from its current release to a new one. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import {
  advanceRollout,
  changeRolloutState,
  listRollouts,
  requireRollout,
  rolloutView,
  startRollout,
} from "../data/index.ts";
import { DataError } from "../errors.ts";
import { Name, ProjectParams, RolloutId, strict, Version } from "../schemas.ts";

const RolloutParams = Type.Object({ project: Name, id: RolloutId });
const Action = Type.Union([
  Type.Literal("pause"),
  Type.Literal("resume"),
  Type.Literal("abort"),
  Type.Literal("advance"),
]);

export const rolloutRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;

  app.post(
    "/projects/:project/rollouts",
    {
      schema: {
        params: ProjectParams,
        body: Type.Object(
          {
            channel: Name,
            version: Version,
            steps: Type.Optional(
              Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 100 }), { minItems: 1, maxItems: 20 }),
            ),
            minWaitSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })),
            failurePercent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
            minFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          },
          strict,
        ),
      },
    },
    async (request, reply) => {
      const {
        channel,
        version,
        steps = [1, 10, 50, 100],
        minWaitSeconds = 3600,
        failurePercent = 10,
        minFailures = 1,
      } = request.body;
      if (steps.some((s, i) => i > 0 && s <= steps[i - 1]!) || steps[steps.length - 1] !== 100)
        throw new DataError("invalid", "body/steps must rise and end at 100");
      const plan = { channel, version, steps, minWaitSeconds, failurePercent, minFailures };
      const change = { actor: actorOf(request), at: ctx.now() };
      const rollout = await startRollout(db, request.params.project, plan, change, request.body);
      return reply.code(201).send(await rolloutView(db, rollout));
    },
  );

  app.get("/projects/:project/rollouts", { schema: { params: ProjectParams } }, async (request) => {
    const rows = await listRollouts(db, request.params.project, 100);
    return { rollouts: await Promise.all(rows.map((r) => rolloutView(db, r))) };
  });

  app.get("/projects/:project/rollouts/:id", { schema: { params: RolloutParams } }, async (request) => {
    return rolloutView(db, await requireRollout(db, request.params.project, request.params.id));
  });

  app.post(
    "/projects/:project/rollouts/:id/:action",
    { schema: { params: Type.Object({ project: Name, id: RolloutParams.properties.id, action: Action }) } },
    async (request) => {
      const { project, id, action } = request.params;
      const rollout = await requireRollout(db, project, id);
      const change = { actor: actorOf(request), at: ctx.now() };
      if (action === "advance") await advanceRollout(db, rollout, change);
      else await changeRolloutState(db, rollout, action, change);
      return rolloutView(db, await requireRollout(db, project, id));
    },
  );
};
