/** Admin: projects, their public keys, the enrolment token, and version pins by device tag. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import Type from "typebox";
import type { Project } from "../../db/index.ts";
import { KEY_ID_PATTERN } from "../../rules/hex.ts";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import {
  addKey,
  createProject,
  listPins,
  listProjects,
  projectKeysAndChannels,
  removeKey,
  removePin,
  requireProject,
  setAutoAccept,
  setEnrolmentTokenHash,
  setPin,
} from "../data/index.ts";
import { Hex64, Name, ProjectParams, strict, Tag, Version } from "../schemas.ts";
import { newToken } from "../tokens.ts";

function projectView(p: Project) {
  return {
    name: p.name,
    autoAccept: p.auto_accept === 1,
    enrolment: p.enrol_token_hash !== null,
    createdAt: new Date(p.created_at).toISOString(),
  };
}

export const projectRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;
  const change = (request: FastifyRequest) => ({ actor: actorOf(request), at: ctx.now() });

  app.get("/projects", async () => ({ projects: (await listProjects(db)).map(projectView) }));

  app.post(
    "/projects",
    { schema: { body: Type.Object({ name: Name, autoAccept: Type.Optional(Type.Boolean()) }, strict) } },
    async (request, reply) => {
      const { name, autoAccept } = request.body;
      const project = await createProject(db, name, !!autoAccept, change(request));
      return reply.code(201).send(projectView(project));
    },
  );

  app.get("/projects/:project", { schema: { params: ProjectParams } }, async (request) => {
    const project = await requireProject(db, request.params.project);
    const { keys, channels } = await projectKeysAndChannels(db, project.name);
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
      const project = await requireProject(db, request.params.project);
      await setAutoAccept(db, project.name, request.body.autoAccept, change(request));
      return projectView({ ...project, auto_accept: request.body.autoAccept ? 1 : 0 });
    },
  );

  app.post(
    "/projects/:project/enrolment-token",
    { schema: { params: ProjectParams } },
    async (request, reply) => {
      const project = await requireProject(db, request.params.project);
      const { token, hash } = newToken("enrolment");
      await setEnrolmentTokenHash(db, project.name, hash, change(request));
      return reply.code(201).send({ token });
    },
  );

  app.delete(
    "/projects/:project/enrolment-token",
    { schema: { params: ProjectParams } },
    async (request, reply) => {
      const project = await requireProject(db, request.params.project);
      await setEnrolmentTokenHash(db, project.name, null, change(request));
      return reply.code(204).send();
    },
  );

  app.post(
    "/projects/:project/keys",
    { schema: { params: ProjectParams, body: Type.Object({ publicKey: Hex64 }, strict) } },
    async (request, reply) => {
      const project = await requireProject(db, request.params.project);
      const { publicKey } = request.body;
      const keyid = await addKey(db, project.name, publicKey, change(request));
      return reply.code(201).send({ keyid, publicKey });
    },
  );

  app.delete(
    "/projects/:project/keys/:keyid",
    { schema: { params: Type.Object({ project: Name, keyid: Type.String({ pattern: KEY_ID_PATTERN }) }) } },
    async (request, reply) => {
      const { project, keyid } = request.params;
      await removeKey(db, project, keyid, change(request));
      return reply.code(204).send();
    },
  );

  app.get("/projects/:project/pins", { schema: { params: ProjectParams } }, async (request) => ({
    pins: await listPins(db, request.params.project),
  }));

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
      await setPin(db, project, tag, request.body.version, change(request));
      return { tag, version: request.body.version };
    },
  );

  app.delete(
    "/projects/:project/pins/:tag",
    { schema: { params: Type.Object({ project: Name, tag: Tag }) } },
    async (request, reply) => {
      const { project, tag } = request.params;
      await removePin(db, project, tag, change(request));
      return reply.code(204).send();
    },
  );
};
