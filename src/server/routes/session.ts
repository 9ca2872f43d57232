/**
 * Dashboard sign-in and sign-out (`/api/v1/session`): an admin or read-only token in, an httpOnly
 * session cookie out. These routes sit outside the admin routes' token check: signing in is how a
 * browser gets what that check accepts.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { SessionInfo, SignIn } from "../api-schemas.ts";
import { adminTokenRow } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import { HttpError } from "../errors.ts";
import { endSession, findSession, sessionAdmin, startSession } from "../session.ts";

export const sessionRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  app.post(
    "/session",
    { schema: { body: SignIn, response: { 200: SessionInfo } } },
    async (request, reply) => {
      const admin = await adminTokenRow(ctx, request.body.token);
      const csrf = await startSession(ctx, request, reply, admin);
      return { name: admin.name, role: admin.role, csrf };
    },
  );

  app.get("/session", { schema: { response: { 200: SessionInfo } } }, async (request, reply) => {
    reply.header("cache-control", "no-store");
    const session = await findSession(ctx, request);
    if (!session) throw new HttpError(401, "not signed in");
    return { name: session.identity.name, role: session.identity.role, csrf: session.csrf };
  });

  app.delete("/session", async (request, reply) => {
    // Signing out is a write too: without the CSRF header another site could sign a user out.
    if (await findSession(ctx, request)) await sessionAdmin(ctx, request);
    await endSession(ctx, request, reply);
    return reply.code(204).send();
  });
};
