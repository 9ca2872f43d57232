/**
 * Admin: publishing. A publisher sends the envelope to /releases/plan (checked, nothing stored) to
 * learn which blobs and patches the server lacks, PUTs those, then POSTs the envelope to /releases.
 * The release exists only once that last request has checked every file and inserted the row, so an
 * upload cut off anywhere leaves no partial release and can simply be done again. Update packs leading
 * to a release are PUT after it exists (each is checked against its envelope's sha256), before a
 * channel points at it.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createInflate } from "node:zlib";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { Release } from "../../db/index.ts";
import { decodePackTo, PatchError } from "../../delta/index.ts";
import type { Manifest } from "../../manifest/index.ts";
import { packNameParts } from "../../rules/hex.ts";
import { MAX_FILE_SIZE } from "../../rules/limits.ts";
import { recordAudit } from "../audit.ts";
import { actorOf } from "../auth.ts";
import type { ServerContext } from "../context.ts";
import { findChannel, findRelease, requireProject, requireRelease } from "../data/index.ts";
import { DataError } from "../errors.ts";
import { type CheckedEnvelope, checkEnvelope } from "../release-upload.ts";
import { BlobFile, Hex64, Name, PackFile, PatchFile, ProjectParams, strict, Version } from "../schemas.ts";

const Envelope = Type.Object({ signed: Type.Object({}), signatures: Type.Array(Type.Unknown()) });
const BlobParams = Type.Object({ project: Name, file: BlobFile });
const PatchParams = Type.Object({
  project: Name,
  file: PatchFile,
});
const PackParams = Type.Object({ project: Name, file: PackFile });

export interface Missing {
  blobs: string[];
  patches: string[];
}

/**
 * Reads a stored zlib stream once: the SHA-256 of its own bytes, and the SHA-256 and size of what it
 * inflates to (capped).
 */
async function zlibDigests(
  path: string,
  cap: number,
): Promise<{ raw: string; sha256: string; size: number }> {
  const raw = createHash("sha256");
  const hash = createHash("sha256");
  let size = 0;
  try {
    await pipeline(
      createReadStream(path),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          raw.update(chunk);
          yield chunk;
        }
      },
      createInflate(),
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > cap) throw new DataError("invalid", `blob inflates to more than ${cap} bytes`);
          hash.update(chunk);
        }
      },
    );
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError("invalid", `not a zlib stream: ${(err as Error).message}`);
  }
  return { raw: raw.digest("hex"), sha256: hash.digest("hex"), size };
}

/** The SHA-256 of a file, read as a stream (patches go up to the blob limit). */
async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** The blobs and patches of `manifest` the store lacks (or holds with other bytes than declared). */
async function missingFiles(ctx: ServerContext, manifest: Manifest): Promise<Missing> {
  const project = manifest.project;
  const blobs = new Set<string>();
  const patches = new Set<string>();
  for (const file of manifest.files) {
    const blob = `${file.sha256}.z`;
    if ((await ctx.store.size(project, "blobs", blob)) !== file.blobs.zlib) blobs.add(blob);
    for (const patch of file.blobs.patches ?? []) {
      const name = `${patch.from_sha256}-${file.sha256}.fz`;
      const size = await ctx.store.size(project, "patches", name);
      const same =
        size === patch.size &&
        (await fileSha256(ctx.store.path(project, "patches", name))) === patch.sha256_of_patch;
      if (!same) patches.add(name);
    }
  }
  return { blobs: [...blobs], patches: [...patches] };
}

/**
 * Refuses an uploaded update pack (the temporary file `path`, named `file`) that does not parse or does
 * not lead to the envelope its name gives.
 */
async function checkPack(path: string, file: string): Promise<void> {
  try {
    decodePackTo(await readFile(path), packNameParts(file).to);
  } catch (err) {
    if (err instanceof PatchError) throw new DataError("invalid", `update pack ${file}: ${err.message}`);
    throw err;
  }
}

async function checkedUpload(
  ctx: ServerContext,
  project: string,
  body: { signed: unknown; signatures: unknown },
) {
  await requireProject(ctx.db.kysely, project);
  const keys = await ctx.db.kysely
    .selectFrom("keys")
    .select(["keyid", "public_key"])
    .where("project", "=", project)
    .execute();
  if (keys.length === 0)
    throw new DataError("invalid", `project "${project}" has no public keys; add one first`);
  return checkEnvelope(
    body,
    project,
    keys.map((k) => k.public_key),
  );
}

export const releaseRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;
  // Blob and patch bodies are streamed to a temporary file, never buffered whole.
  app.addContentTypeParser("application/octet-stream", (_request, payload, done) => done(null, payload));

  app.post(
    "/projects/:project/releases/plan",
    { schema: { params: ProjectParams, body: Envelope }, bodyLimit: ctx.limits.maxEnvelopeBytes },
    async (request) => {
      const checked = await checkedUpload(ctx, request.params.project, request.body);
      const existing = await findRelease(db, request.params.project, checked.manifest.version);
      if (existing) sameRelease(existing, checked);
      return {
        version: checked.manifest.version,
        published: !!existing,
        missing: await missingFiles(ctx, checked.manifest),
      };
    },
  );

  app.put("/projects/:project/blobs/:file", { schema: { params: BlobParams } }, async (request, reply) => {
    const { project, file } = request.params;
    await requireProject(ctx.db.kysely, project);
    const body = bodyStream(request.body);
    const size = await ctx.store.put(project, "blobs", file, body, ctx.limits.maxBlobBytes, async (tmp) => {
      const { sha256 } = await zlibDigests(tmp, MAX_FILE_SIZE);
      if (`${sha256}.z` !== file)
        throw new DataError("invalid", `blob ${file} inflates to content with SHA-256 ${sha256}`);
    });
    return reply.code(201).send({ file, size });
  });

  app.put(
    "/projects/:project/patches/:file",
    { schema: { params: PatchParams, headers: Type.Object({ "x-mpota-sha256": Hex64 }) } },
    async (request, reply) => {
      const { project, file } = request.params;
      await requireProject(ctx.db.kysely, project);
      const declared = request.headers["x-mpota-sha256"];
      const size = await ctx.store.put(
        project,
        "patches",
        file,
        bodyStream(request.body),
        ctx.limits.maxBlobBytes,
        async (tmp) => {
          const { raw } = await zlibDigests(tmp, MAX_FILE_SIZE);
          if (raw !== declared)
            throw new DataError("invalid", `patch ${file} has SHA-256 ${raw}, not ${declared}`);
        },
      );
      return reply.code(201).send({ file, size });
    },
  );

  app.put("/projects/:project/packs/:file", { schema: { params: PackParams } }, async (request, reply) => {
    const { project, file } = request.params;
    await requireProject(ctx.db.kysely, project);
    const { to } = packNameParts(file);
    // The name carries the first 16 hex digits of the envelope's sha256 (packName): a prefix match.
    const release = await db
      .selectFrom("releases")
      .select("version")
      .where("project", "=", project)
      .where("sha256", "like", `${to}%`)
      .executeTakeFirst();
    if (!release)
      throw new DataError(
        "invalid",
        `update pack ${file} leads to an envelope whose sha256 starts ${to}, which is not a release of "${project}" (publish the release first)`,
      );
    const body = bodyStream(request.body);
    const size = await ctx.store.put(project, "packs", file, body, ctx.limits.maxPackBytes, (tmp) =>
      checkPack(tmp, file),
    );
    return reply.code(201).send({ file, size, version: release.version });
  });

  app.post(
    "/projects/:project/releases",
    { schema: { params: ProjectParams, body: Envelope }, bodyLimit: ctx.limits.maxEnvelopeBytes },
    async (request, reply) => {
      const { project } = request.params;
      const checked = await checkedUpload(ctx, project, request.body);
      const { version } = checked.manifest;
      const existing = await findRelease(db, project, version);
      if (existing) return reply.code(200).send(sameRelease(existing, checked));
      const missing = await missingFiles(ctx, checked.manifest);
      const count = missing.blobs.length + missing.patches.length;
      if (count > 0) {
        const first = [...missing.blobs, ...missing.patches].slice(0, 3).join(", ");
        throw new DataError(
          "conflict",
          `${count} blob(s)/patch(es) of release ${version} are not uploaded yet (${first}…)`,
        );
      }
      await ctx.store.put(
        project,
        "releases",
        `${checked.sha256}.json`,
        checked.bytes,
        ctx.limits.maxEnvelopeBytes,
      );
      const now = ctx.now();
      const row = {
        project,
        version,
        sha256: checked.sha256,
        size: checked.bytes.length,
        files: checked.manifest.files.length,
        rollback: checked.manifest.rollback ? 1 : 0,
        created_at: now,
      };
      const inserted = await db.transaction().execute(async (trx) => {
        const result = await trx
          .insertInto("releases")
          .values(row)
          .onConflict((oc) => oc.columns(["project", "version"]).doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return false;
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "release.publish",
          project,
          target: version,
          detail: { sha256: checked.sha256, files: row.files },
        });
        return true;
      });
      if (!inserted)
        return reply
          .code(200)
          .send(sameRelease(await requireRelease(ctx.db.kysely, project, version), checked));
      return reply.code(201).send(releaseView(row));
    },
  );

  app.get("/projects/:project/releases", { schema: { params: ProjectParams } }, async (request) => {
    await requireProject(ctx.db.kysely, request.params.project);
    const rows = await db
      .selectFrom("releases")
      .selectAll()
      .where("project", "=", request.params.project)
      .orderBy("created_at", "desc")
      .execute();
    return { releases: rows.map(releaseView) };
  });

  app.get("/projects/:project/channels", { schema: { params: ProjectParams } }, async (request) => {
    await requireProject(ctx.db.kysely, request.params.project);
    const rows = await db
      .selectFrom("channels")
      .selectAll()
      .where("project", "=", request.params.project)
      .orderBy("name")
      .execute();
    return { channels: rows.map((c) => ({ name: c.name, version: c.version, rollout: c.rollout_id })) };
  });

  app.put(
    "/projects/:project/channels/:channel",
    {
      schema: {
        params: Type.Object({ project: Name, channel: Name }),
        body: Type.Object({ version: Version }, strict),
      },
    },
    async (request) => {
      const { project, channel } = request.params;
      const { version } = request.body;
      await requireRelease(ctx.db.kysely, project, version);
      const now = ctx.now();
      await db.transaction().execute(async (trx) => {
        const current = await findChannel(trx, project, channel);
        if (current?.rollout_id)
          throw new DataError(
            "conflict",
            `channel "${channel}" has a rollout in progress (${current.rollout_id}); abort it first`,
          );
        if (current)
          await trx
            .updateTable("channels")
            .set({ version, updated_at: now })
            .where("project", "=", project)
            .where("name", "=", channel)
            .where("rollout_id", "is", null)
            .execute();
        else
          await trx
            .insertInto("channels")
            .values({ project, name: channel, version, rollout_id: null, updated_at: now })
            .execute();
        await recordAudit(trx, now, {
          actor: actorOf(request),
          action: "channel.set",
          project,
          target: channel,
          detail: { version, previous: current?.version ?? null },
        });
      });
      return { name: channel, version };
    },
  );
};

/** The channel `name` of `project` (in `db`, or the transaction `db` is), or undefined. */
function bodyStream(body: unknown): Readable {
  if (!body || typeof (body as Readable).pipe !== "function")
    throw new DataError("unsupported", "send the file as Content-Type: application/octet-stream");
  return body as Readable;
}

function releaseView(r: Omit<Release, "project">) {
  return {
    version: r.version,
    sha256: r.sha256,
    size: r.size,
    files: r.files,
    rollback: r.rollback === 1,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

function sameRelease(existing: Omit<Release, "project">, checked: CheckedEnvelope) {
  if (existing.sha256 !== checked.sha256)
    throw new DataError("conflict", `release ${existing.version} already exists with other contents`);
  return releaseView(existing);
}
