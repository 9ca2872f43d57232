/**
 * The device API under /d/<project>/: the same files as the static layout (docs/protocol.md), with the
 * channel pointer chosen per device, plus enrolment and event reports. Devices send
 * `Authorization: Bearer <device token>` and `X-Mpota-Device: <device id>`; the check-in carries what
 * the device runs as `?version=…&state=good|trial&failed=…`. Blobs, patches and update packs are served
 * without a token too (content-addressed and immutable, like a CDN would); pointers and envelopes never
 * are. `channels/<channel>.pack` is the check answer of docs/protocol.md ("Check answers"): the pointer,
 * with the update pack from the release the device says it runs when the server has one of at most
 * MAX_ATTACHED_PACK bytes, so that a device one release behind updates with this one request (it reports
 * "installed" only when a patch fell back; its next check-in says the rest). A device's first fetch of a
 * release's envelope or of an update pack leading to it, in a check answer or on its own, is its
 * "downloading" event for that release (the device sends no report of its own for it).
 */

import { readFile } from "node:fs/promises";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { type AnswerFormat, answerPack, answerPointer, checkAnswer } from "../../delta/index.ts";
import { envelopeBytes, sha256Hex } from "../../manifest/index.ts";
import { MAX_ATTACHED_PACK, packName, packNameParts } from "../../rules/index.ts";
import { recordAudit } from "../audit.ts";
import { authenticateDevice, deviceAuth } from "../auth.ts";
import type { CachedDevice } from "../checkin-cache.ts";
import type { ServerContext } from "../context.ts";
import { DataError, HttpError } from "../errors.ts";
import { RateLimiter, tooMany } from "../rate-limit.ts";
import { type EventInput, type Offer, recordEvents, recordOffers } from "../rollouts/engine.ts";
import { offeringRollout, pickVersion } from "../rollouts/policy.ts";
import {
  BlobFile,
  ChannelFile,
  DeviceId,
  Name,
  PackFile,
  PatchFile,
  ProjectParams,
  strict,
  Version,
} from "../schemas.ts";
import { matchesEtag, sendFile } from "../send-file.ts";
import { hashToken, newToken } from "../tokens.ts";
import { WriteQueue } from "../write-queue.ts";

const Event = Type.Union([
  Type.Literal("downloading"),
  Type.Literal("installed"),
  Type.Literal("trial"),
  Type.Literal("confirmed"),
  Type.Literal("rolled_back"),
  Type.Literal("failed"),
]);

interface Pointer {
  bytes: Buffer;
  /** The pointer as a check answer of each format carries it (answerPointer): made once, not per check-in. */
  heads: Record<AnswerFormat, Buffer>;
  etag: string;
}

export const deviceApiRoutes: FastifyPluginAsyncTypebox<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const db = ctx.db.kysely;
  // Releases never change once published, so what a pointer says about one can be kept for good.
  const releases = new Map<string, { sha256: string; size: number }>();
  const pointers = new Map<string, Pointer>();
  const lastCheckin = new Map<string, number>();
  // Offers this process has written (each is written once per rollout and device).
  const offered = new Set<string>();
  const offers = new WriteQueue<Offer>(
    (rows) => recordOffers(db, rows),
    () => ctx.limits.maxQueuedWrites,
  );
  const reported = new WriteQueue<EventInput>(
    (rows) => recordEvents(db, rows),
    () => ctx.limits.maxQueuedWrites,
  );
  // Downloads this process has recorded as "downloading" events (once per device and release).
  const downloads = new Set<string>();
  // Release versions by envelope sha256 (what update packs are named by); releases never change.
  const versionsBySha = new Map<string, string>();
  // Update packs for check answers, by name and answer format (null: too large); packs never change. A
  // missing one is not kept: it may be uploaded yet (a device pinned to a release can ask before its packs
  // are up).
  const attachable = new Map<string, Buffer | null>();
  const reports = new RateLimiter(() => ctx.limits.reportsPerMinute, ctx.now);
  const enrolments = new RateLimiter(() => ctx.limits.enrolmentsPerMinute, ctx.now);
  // Wrong (or missing) tokens per client address: guessing costs a minute per few tries.
  const authFailures = new RateLimiter(() => ctx.limits.authFailuresPerMinute, ctx.now);
  app.addHook("onRequest", async (request) => {
    const wait = authFailures.waitMs(request.ip);
    if (wait > 0) throw tooMany("too many wrong tokens from this address; retry later", wait);
  });
  app.addHook("onResponse", async (request, reply) => {
    if (reply.statusCode === 401) authFailures.hit(request.ip);
  });
  // Binary answers go without Content-Type: application/octet-stream is what a recipient assumes anyway
  // (RFC 9110 8.3), a board reads none, and on a metered link its 40 bytes are 3 to 8 % of an update.
  app.addHook("onSend", async (_request, reply, payload) => {
    if (reply.getHeader("content-type") === "application/octet-stream") reply.removeHeader("content-type");
    return payload;
  });

  async function releaseInfo(project: string, version: string) {
    const key = `${project}\n${version}`;
    let info = releases.get(key);
    if (!info) {
      const row = await db
        .selectFrom("releases")
        .select(["sha256", "size"])
        .where("project", "=", project)
        .where("version", "=", version)
        .executeTakeFirst();
      if (!row) return undefined;
      info = row;
      releases.set(key, info);
    }
    return info;
  }

  async function versionOf(project: string, sha256: string): Promise<string | undefined> {
    const key = `${project}\n${sha256}`;
    let version = versionsBySha.get(key);
    if (version === undefined) {
      const row = await db
        .selectFrom("releases")
        .select("version")
        .where("project", "=", project)
        .where("sha256", "like", `${sha256}%`) // a pack's name carries the first 16 hex digits (packName)
        .executeTakeFirst();
      if (!row) return undefined;
      version = row.version;
      versionsBySha.set(key, version);
    }
    return version;
  }

  /** Records that `device` started downloading `version`, the first time it fetches it. */
  async function downloading(device: CachedDevice, version: string): Promise<void> {
    const key = `${device.project}\n${device.id}\n${version}`;
    if (downloads.has(key)) return;
    await reported.add({
      project: device.project,
      deviceId: device.id,
      version,
      event: "downloading",
      error: null,
      at: ctx.now(),
    });
    if (downloads.size > 500_000) downloads.clear();
    downloads.add(key);
  }

  /**
   * The update pack a check answer of `format` carries from release `from` to `to` (answerPack), when
   * there is one small enough.
   */
  async function attachedPack(project: string, from: string, to: string, format: AnswerFormat) {
    const [a, b] = await Promise.all([releaseInfo(project, from), releaseInfo(project, to)]);
    if (!a || !b) return undefined;
    const name = packName(a.sha256, b.sha256);
    const key = `${project}\n${name}\n${format}`;
    let pack = attachable.get(key);
    if (pack === undefined) {
      const size = await ctx.store.size(project, "packs", name);
      if (size === undefined) return undefined;
      pack = null;
      if (size <= MAX_ATTACHED_PACK) {
        const envelope = (sha256: string) => readFile(ctx.store.path(project, "releases", `${sha256}.json`));
        const [stored, fromEnvelope, toEnvelope] = await Promise.all([
          readFile(ctx.store.path(project, "packs", name)),
          envelope(a.sha256),
          envelope(b.sha256),
        ]);
        pack = answerPack(stored, format, fromEnvelope, toEnvelope);
      }
      if (attachable.size > 10_000) attachable.clear();
      attachable.set(key, pack);
    }
    return pack ? { fromSha256: a.sha256, pack } : undefined;
  }

  async function pointerFor(project: string, channel: string, version: string): Promise<Pointer | undefined> {
    const key = `${project}\n${channel}\n${version}`;
    let pointer = pointers.get(key);
    if (!pointer) {
      const release = await releaseInfo(project, version);
      if (!release) return undefined;
      const signed = {
        channel,
        project,
        release: `releases/${version}.json`,
        sha256: release.sha256,
        size: release.size,
        version,
      };
      const bytes = envelopeBytes({ signed, signatures: [] });
      // 64 bits of the hash tell one pointer from the next; a no-update check sends it and gets it back.
      pointer = {
        bytes,
        heads: { up: answerPointer(bytes, "up"), pack: answerPointer(bytes, "pack") },
        etag: `"${sha256Hex(bytes).slice(0, 16)}"`,
      };
      if (pointers.size > 10_000) pointers.clear();
      pointers.set(key, pointer);
    }
    return pointer;
  }

  app.post(
    "/:project/enrol",
    {
      schema: {
        params: ProjectParams,
        body: Type.Object({ deviceId: DeviceId, token: Type.String({ maxLength: 200 }) }, strict),
      },
    },
    async (request, reply) => {
      const { project } = request.params;
      const row = await db.selectFrom("projects").selectAll().where("name", "=", project).executeTakeFirst();
      if (!row?.enrol_token_hash || row.enrol_token_hash !== hashToken(request.body.token))
        throw new HttpError(401, `wrong or closed enrolment token for project "${project}"`);
      const now = ctx.now();
      // Whoever holds the enrolment token may claim ids ahead of the boards: each try costs budget.
      const perMinute = ctx.limits.enrolmentsPerMinute;
      enrolments.take(project, `at most ${perMinute} enrolments per minute in "${project}"; retry later`);
      const status = row.auto_accept === 1 ? "active" : "pending";
      const maxPending = ctx.limits.maxPendingDevices;
      if (status === "pending" && maxPending > 0) {
        const pending = await db
          .selectFrom("devices")
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .where("project", "=", project)
          .where("status", "=", "pending")
          .executeTakeFirstOrThrow();
        if (Number(pending.n) >= maxPending)
          throw tooMany(
            `${Number(pending.n)} devices are waiting for approval in "${project}" (at most ${maxPending}); retry later`,
            300_000,
          );
      }
      const { token, hash } = newToken("device");
      const id = request.body.deviceId;
      await db.transaction().execute(async (trx) => {
        const result = await trx
          .insertInto("devices")
          .values({ project, id, token_hash: hash, status, tags: "[]", created_at: now })
          .onConflict((oc) => oc.columns(["project", "id"]).doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0)
          throw new DataError("conflict", `device "${id}" is already enrolled in "${project}"`);
        await recordAudit(trx, now, {
          actor: `device:${id}`,
          action: "device.enrol",
          project,
          target: id,
          detail: { status },
        });
      });
      return reply.code(201).send({ deviceId: id, token, status });
    },
  );

  const authed = { preHandler: deviceAuth(ctx) };
  const tokenOptional = { preHandler: deviceAuth(ctx, true) };

  app.get(
    "/:project/channels/:file",
    {
      schema: {
        params: Type.Object({
          project: Name,
          file: ChannelFile,
        }),
        querystring: Type.Object(
          {
            version: Type.Optional(Version),
            state: Type.Optional(Type.Union([Type.Literal("good"), Type.Literal("trial")])),
            failed: Type.Optional(Version),
          },
          strict,
        ),
      },
    },
    async (request, reply) => {
      const dot = request.params.file.lastIndexOf(".");
      const channel = request.params.file.slice(0, dot);
      const extension = request.params.file.slice(dot + 1) as "json" | AnswerFormat;
      // Two independent reads: on PostgreSQL two round trips at once instead of one after the other.
      // A failed authentication wins over whatever the channel lookup found.
      const [device, route] = await Promise.all([
        authenticateDevice(ctx, request) as Promise<CachedDevice>,
        ctx.cache.route(request.params.project, channel),
      ]);
      const now = ctx.now();
      const key = `${device.project}\n${device.id}`;
      const last = lastCheckin.get(key);
      if (last !== undefined && now - last < ctx.limits.checkinIntervalMs) {
        const wait = Math.ceil((ctx.limits.checkinIntervalMs - (now - last)) / 1000);
        throw new HttpError(429, `check in at most every ${ctx.limits.checkinIntervalMs} ms`, {
          "retry-after": String(wait),
        });
      }
      const { version = null, state = null, failed = null } = request.query;
      ctx.checkins.record(device, { version, state, failed, at: now });
      lastCheckin.set(key, now);
      if (lastCheckin.size > 500_000) lastCheckin.clear();

      if (!route) throw new DataError("not-found", `project "${device.project}" has no channel "${channel}"`);
      const view = {
        id: device.id,
        version,
        pin: device.pin,
        tagPin: await ctx.cache.tagPin(device.project, device.tags),
      };
      const target = pickVersion(view, route);
      const pointer = target ? await pointerFor(device.project, channel, target) : undefined;
      if (!target || !pointer)
        throw new DataError("not-found", `channel "${channel}" has no release for this device`);
      // Written before the device hears of the release, so its reports always find the offer.
      const rolloutId = offeringRollout(view, route);
      const offer = `${rolloutId}\n${device.id}`;
      if (rolloutId && !offered.has(offer)) {
        await offers.add({ rolloutId, deviceId: device.id, at: now });
        if (offered.size > 500_000) offered.clear();
        offered.add(offer);
      }
      // No cache-control: a response to a request with Authorization is never stored by a shared cache
      // (RFC 9111 3.5), and on a no-update check every byte counts (docs/protocol.md).
      reply.header("etag", pointer.etag);
      if (matchesEtag(request.headers["if-none-match"], pointer.etag)) return reply.code(304).send();
      if (extension === "json") return reply.type("application/json").send(pointer.bytes);
      const attached =
        version && version !== target
          ? await attachedPack(device.project, version, target, extension)
          : undefined;
      if (attached) await downloading(device, target);
      return reply
        .type("application/octet-stream")
        .send(checkAnswer(pointer.bytes, extension, attached, pointer.heads[extension]));
    },
  );

  app.get(
    "/:project/releases/:file",
    {
      ...authed,
      schema: { params: Type.Object({ project: Name, file: Type.String({ pattern: "^.{1,140}\\.json$" }) }) },
    },
    async (request, reply) => {
      const { project, file } = request.params;
      const version = file.slice(0, -".json".length);
      const release = await releaseInfo(project, version);
      if (!release) throw new DataError("not-found", `project "${project}" has no release ${version}`);
      await downloading(request.device!, version);
      const path = ctx.store.path(project, "releases", `${release.sha256}.json`);
      return sendFile(request, reply, path, release.sha256, "application/json");
    },
  );

  app.get(
    "/:project/blobs/:file",
    {
      ...tokenOptional,
      schema: {
        params: Type.Object({ project: Name, file: BlobFile }),
      },
    },
    async (request, reply) => {
      const { project, file } = request.params;
      return sendFile(
        request,
        reply,
        ctx.store.path(project, "blobs", file),
        file.slice(0, 64),
        "application/octet-stream",
      );
    },
  );

  app.get(
    "/:project/patches/:file",
    {
      ...tokenOptional,
      schema: {
        params: Type.Object({
          project: Name,
          file: PatchFile,
        }),
      },
    },
    async (request, reply) => {
      const { project, file } = request.params;
      return sendFile(
        request,
        reply,
        ctx.store.path(project, "patches", file),
        file.slice(0, -3),
        "application/octet-stream",
      );
    },
  );

  app.get(
    "/:project/packs/:file",
    { ...tokenOptional, schema: { params: Type.Object({ project: Name, file: PackFile }) } },
    async (request, reply) => {
      const { project, file } = request.params;
      // Asked for by a device, a pack to a release starts its download, even a missing one (the
      // device then fetches the envelope's patch or the envelope).
      if (request.device) {
        const version = await versionOf(project, packNameParts(file).to);
        if (version) await downloading(request.device, version);
      }
      return sendFile(
        request,
        reply,
        ctx.store.path(project, "packs", file),
        file.slice(0, -".pack".length),
        "application/octet-stream",
      );
    },
  );

  app.post(
    "/:project/reports",
    {
      ...authed,
      schema: {
        params: ProjectParams,
        body: Type.Object(
          { version: Version, event: Event, error: Type.Optional(Type.String({ maxLength: 2000 })) },
          strict,
        ),
      },
    },
    async (request, reply) => {
      const device = request.device!;
      const { version, event, error } = request.body;
      const now = ctx.now();
      const perMinute = ctx.limits.reportsPerMinute;
      reports.take(`${device.project}\n${device.id}`, `report at most ${perMinute} times per minute`);
      // Events only on the project's releases: a device cannot add rows by inventing versions.
      if (!(await releaseInfo(device.project, version)))
        throw new DataError("not-found", `project "${device.project}" has no release ${version}`);
      await reported.add({
        project: device.project,
        deviceId: device.id,
        version,
        event,
        error: error ?? null,
        at: now,
      });
      // the report may have paused a rollout: this process's next check-ins see it
      await ctx.db.changes.barrier();
      return reply.code(204).send(); // nothing to say: every byte of an update counts (docs/protocol.md)
    },
  );
};
