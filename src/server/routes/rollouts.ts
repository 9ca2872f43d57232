/** Admin: staged rollouts of a channel from its current release to a new one. */
import { randomUUID } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { Rollout } from "../../db/index.ts";
import { recordAudit } from "../audit.ts";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import { findChannel, requireRelease, requireRollout, rolloutView } from "../data/index.ts";
import { DataError } from "../errors.ts";
import { advanceStep, parseSteps } from "../rollouts/engine.ts";
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
      const { project } = request.params;
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
      await requireRelease(db, project, version);
      const now = ctx.now();
      const rollout: Rollout = {
        id: randomUUID(),
        project,
        channel,
        from_version: null,
        to_version: version,
        steps: JSON.stringify(steps),
        step: 0,
        min_wait_ms: minWaitSeconds * 1000,
        failure_percent: failurePercent,
        min_failures: minFailures,
        state: "running",
        reason: null,
        step_started_at: now,
        created_at: now,
        updated_at: now,
      };
      await db.transaction().execute(async (trx) => {
        const current = await findChannel(trx, project, channel);
        if (current?.rollout_id)
          throw new DataError(
            "conflict",
            `channel "${channel}" already has a rollout in progress (${current.rollout_id})`,
          );
        if (current?.version === version)
          throw new DataError("invalid", `channel "${channel}" is already on ${version}`);
        rollout.from_version = current?.version ?? null;
        await trx.insertInto("rollouts").values(rollout).execute();
        if (current) {
          const result = await trx
            .updateTable("channels")
            .set({ rollout_id: rollout.id, updated_at: now })
            .where("project", "=", project)
            .where("name", "=", channel)
            .where("rollout_id", "is", null)
            .executeTakeFirst();
          if (Number(result.numUpdatedRows) === 0)
            throw new DataError("conflict", `channel "${channel}" changed meanwhile; try again`);
        } else {
          await trx
            .insertInto("channels")
            .values({ project, name: channel, version: null, rollout_id: rollout.id, updated_at: now })
            .execute();
        }
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "rollout.start",
          project,
          target: rollout.id,
          detail: { ...request.body, from: rollout.from_version },
        });
      });
      return reply.code(201).send(await rolloutView(db, rollout));
    },
  );

  app.get("/projects/:project/rollouts", { schema: { params: ProjectParams } }, async (request) => {
    const rows = await db
      .selectFrom("rollouts")
      .selectAll()
      .where("project", "=", request.params.project)
      .orderBy("created_at", "desc")
      .limit(100)
      .execute();
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
      const now = ctx.now();
      const actor = actorOf(request);
      if (action === "advance") {
        if (rollout.state !== "running" || rollout.step >= parseSteps(rollout).length - 1)
          throw new DataError(
            "conflict",
            `rollout ${id} is ${rollout.state} at its step ${rollout.step}; it cannot advance`,
          );
        if (!(await advanceStep(db, rollout, now, actor)))
          throw new DataError("conflict", `rollout ${id} changed meanwhile`);
        return rolloutView(db, await requireRollout(db, project, id));
      }
      const from =
        action === "resume" ? ["paused"] : action === "pause" ? ["running"] : ["running", "paused"];
      if (!from.includes(rollout.state))
        throw new DataError("conflict", `rollout ${id} is ${rollout.state}; cannot ${action} it`);
      const state = action === "resume" ? "running" : action === "pause" ? "paused" : "aborted";
      await db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable("rollouts")
          .set({
            state,
            updated_at: now,
            ...(action === "resume" ? { step_started_at: now, reason: null } : {}),
            ...(action === "pause" ? { reason: `paused by ${actor}` } : {}),
          })
          .where("id", "=", id)
          .where("state", "=", rollout.state)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0)
          throw new DataError("conflict", `rollout ${id} changed meanwhile`);
        if (state === "aborted")
          await trx
            .updateTable("channels")
            .set({ rollout_id: null, updated_at: now })
            .where("project", "=", project)
            .where("name", "=", rollout.channel)
            .where("rollout_id", "=", id)
            .execute();
        await recordAudit(trx, now, { actor, action: `rollout.${action}`, project, target: id });
      });
      return rolloutView(db, await requireRollout(db, project, id));
    },
  );
};
