/**
 * Admin: one release in detail, read from its stored envelope: each file with its size, its zlib
 * size and its patches, the keys that signed it, and what a device on the release before it
 * downloads: the update pack from that release when the server has one (the patches come from its
 * records), else unchanged files nothing, changed ones the signed patch when there is one, else the
 * whole file.
 */
import { readFile } from "node:fs/promises";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { type DecodedRecord, decodePack, PACK_KEY_BYTES } from "../../delta/index.ts";
import type { Envelope, Manifest } from "../../manifest/index.ts";
import { packName } from "../../rules/index.ts";
import { ReleaseDetail } from "../api-schemas.ts";
import type { ServerContext } from "../context.ts";
import { releaseBefore, requireRelease } from "../data/index.ts";
import { Name, Version } from "../schemas.ts";

async function storedEnvelope(ctx: ServerContext, project: string, sha256: string) {
  const bytes = await readFile(ctx.store.path(project, "releases", `${sha256}.json`), "utf8");
  return JSON.parse(bytes) as Envelope<Manifest>;
}

/** The update pack from one envelope to another, if the server has it (read whole: packs are capped). */
async function storedPack(ctx: ServerContext, project: string, from: string, to: string) {
  let bytes: Buffer;
  try {
    bytes = await readFile(ctx.store.path(project, "packs", packName(from, to)));
  } catch {
    return undefined;
  }
  return { size: bytes.length, records: decodePack(bytes) }; // checked at upload
}

/** Bytes a device running `from` downloads to get `to` without an update pack. */
function patchedBytes(from: Manifest, to: Manifest): number {
  const before = new Map(from.files.map((f) => [f.path, f.sha256]));
  const held = new Set(before.values());
  let bytes = 0;
  for (const file of to.files) {
    if (held.has(file.sha256)) continue;
    const patch = file.blobs.patches?.find((p) => p.from_sha256 === before.get(file.path));
    bytes += patch ? patch.size : file.blobs.zlib;
  }
  return bytes;
}

export const releaseDetailRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (
  app,
  { ctx },
) => {
  app.get(
    "/projects/:project/releases/:version",
    {
      schema: {
        params: Type.Object({ project: Name, version: Version }),
        response: { 200: ReleaseDetail },
      },
    },
    async (request) => {
      const { project, version } = request.params;
      const release = await requireRelease(ctx.db.kysely, project, version);
      const { signed, signatures } = await storedEnvelope(ctx, project, release.sha256);
      const previous = await releaseBefore(ctx.db.kysely, release);
      const before = previous ? (await storedEnvelope(ctx, project, previous.sha256)).signed : undefined;
      const pack = previous && (await storedPack(ctx, project, previous.sha256, release.sha256));
      const packed = new Map<string, DecodedRecord>(pack?.records.map((r) => [r.key, r]));
      const oldSha = new Map(before?.files.map((f) => [f.path, f.sha256]));
      // A file's patch: the signed list, else the pack's patch record from the file it replaces.
      const patchesOf = (f: Manifest["files"][number]) => {
        if (f.blobs.patches) return f.blobs.patches.map((p) => ({ from: p.from_sha256, size: p.size }));
        const record = packed.get(f.sha256.slice(0, PACK_KEY_BYTES * 2));
        const from = oldSha.get(f.path);
        return record && record.kind !== "z" && from ? [{ from, size: record.data.length }] : [];
      };
      return {
        version,
        sha256: release.sha256,
        size: Number(release.size),
        createdAt: new Date(release.created_at).toISOString(),
        rollback: release.rollback === 1,
        keyIds: signatures.map((s) => s.keyid),
        files: signed.files.map((f) => ({
          path: f.path,
          size: f.size,
          sha256: f.sha256,
          zlib: f.blobs.zlib,
          patches: patchesOf(f),
        })),
        wholeBytes: signed.files.reduce((n, f) => n + f.blobs.zlib, 0),
        patchedBytes: pack ? pack.size : before ? patchedBytes(before, signed) : null,
        previous: previous?.version ?? null,
      };
    },
  );
};
