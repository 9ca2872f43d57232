/**
 * The update server as a Fastify app: device API under /d, admin API under /api/v1, dashboard at /.
 * All state that must agree across processes lives in the database; each process keeps only
 * caches of immutable things, its check-in batch, and its own overload counters.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import type { Db } from "../db/index.ts";
import { MAX_BLOB_BYTES } from "../rules/limits.ts";
import { adminAuthBeforeBody } from "./auth.ts";
import { CheckinCache } from "./checkin-cache.ts";
import { CheckinBatcher } from "./checkins.ts";
import type { Limits, ServerContext } from "./context.ts";
import { DataError, HttpError, REFUSAL_STATUS } from "./errors.ts";
import { FileStore } from "./file-store.ts";
import { LiveFeed } from "./live.ts";
import { DeviceLoad } from "./overload.ts";
import { tickRollouts } from "./rollouts/engine.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { deviceApiRoutes } from "./routes/device-api.ts";
import { deviceRoutes } from "./routes/devices.ts";
import { liveRoutes } from "./routes/live.ts";
import { overviewRoutes } from "./routes/overview.ts";
import { projectRoutes } from "./routes/projects.ts";
import { releaseDetailRoutes } from "./routes/release-detail.ts";
import { releaseRoutes } from "./routes/releases.ts";
import { rolloutRoutes } from "./routes/rollouts.ts";
import { sessionRoutes } from "./routes/session.ts";
import { statusRoutes } from "./routes/status.ts";
import { tokenRoutes } from "./routes/tokens.ts";

export interface ServerOptions {
  db: Db;
  /** Where blobs, patches and envelopes are stored. */
  dataDir: string;
  limits?: Partial<Limits>;
  /** How often check-ins are written to the database (ms, default 1000). */
  flushIntervalMs?: number;
  /** How often rollouts are moved on (ms, default 1000; 0: only by `tick()`). */
  tickIntervalMs?: number;
  logger?: boolean;
  now?: () => number;
  /** How often the dashboard's live feed looks for changes (ms, default 1000). */
  liveIntervalMs?: number;
  /** The built dashboard (default: web/dist of this checkout). */
  webDir?: string;
}

export const DEFAULT_LIMITS: Limits = {
  checkinIntervalMs: 5000,
  maxConcurrent: 512,
  maxBlobBytes: MAX_BLOB_BYTES,
  maxPackBytes: 64 * 1024 * 1024,
  maxEnvelopeBytes: 8 * 1024 * 1024,
  reportsPerMinute: 30,
  enrolmentsPerMinute: 60,
  maxPendingDevices: 1000,
  authFailuresPerMinute: 30,
  maxQueuedWrites: 100_000,
};

export interface MpotaServer {
  app: FastifyInstance;
  ctx: ServerContext;
  /** Writes pending check-ins now (tests, shutdown). */
  flush(): Promise<void>;
  /** Moves rollouts on now (tests). */
  tick(): Promise<void>;
}

export async function createServer(options: ServerOptions): Promise<MpotaServer> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024,
    // patch names are two SHA-256s: 135 characters
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const store = new FileStore(options.dataDir);
  await store.init();
  const onError = (err: unknown) => app.log.error(err);
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const ctx: ServerContext = {
    db: options.db,
    store,
    now: options.now ?? Date.now,
    limits,
    deviceLoad: new DeviceLoad(limits),
    checkins: new CheckinBatcher(
      options.db.kysely,
      options.flushIntervalMs ?? 1000,
      () => limits.maxQueuedWrites,
      onError,
    ),
    cache: new CheckinCache(options.db.kysely, options.db.changes),
  };

  app.decorateRequest("admin", null);
  app.decorateRequest("device", null);
  // The one place errors become answers: the data layer's refusals by kind, HTTP's own as they are.
  app.setErrorHandler((err: FastifyError | DataError | HttpError, request, reply) => {
    if (err instanceof DataError) return reply.code(REFUSAL_STATUS[err.refusal]).send({ error: err.message });
    if (err instanceof HttpError)
      return reply.code(err.statusCode).headers(err.headers).send({ error: err.message });
    if ("validation" in err && err.validation) return reply.code(400).send({ error: err.message });
    const status = (err as FastifyError).statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: err.message });
    request.log.error(err);
    return reply.code(500).send({ error: "internal server error" });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split("?")[0]}` }),
  );

  const live = new LiveFeed(options.db.kysely, options.liveIntervalMs ?? 1000, onError);
  // Open event streams would hold the server's close up.
  app.addHook("preClose", async () => live.close());
  await app.register(statusRoutes, { ctx });
  await app.register(dashboardRoutes, { webDir: options.webDir });
  await app.register(
    async (device) => {
      // Overload: past maxConcurrent device requests in flight, new ones are told to come back.
      device.addHook("onRequest", ctx.deviceLoad.hook);
      await device.register(deviceApiRoutes, { ctx });
    },
    { prefix: "/d" },
  );
  await app.register(
    async (admin) => {
      admin.addHook("onRequest", adminAuthBeforeBody(ctx));
      // A change answered is a change this process's check-ins already see (other processes: soon).
      admin.addHook("onSend", async (request) => {
        if (request.method !== "GET" && request.method !== "HEAD") await options.db.changes.barrier();
      });
      for (const routes of [projectRoutes, releaseRoutes, deviceRoutes, rolloutRoutes, tokenRoutes])
        await admin.register(routes, { ctx });
      await admin.register(overviewRoutes, { ctx });
      await admin.register(releaseDetailRoutes, { ctx });
      await admin.register(liveRoutes, { feed: live });
    },
    { prefix: "/api/v1" },
  );
  // Signing in to the dashboard is how a browser gets what the admin routes' check accepts.
  await app.register(sessionRoutes, { ctx, prefix: "/api/v1" });

  const tick = () => tickRollouts(options.db.kysely, ctx.now());
  const settled =
    <T>(work: () => Promise<T>) =>
    async () => {
      await work();
      await options.db.changes.barrier();
    };
  const tickMs = options.tickIntervalMs ?? 1000;
  const ticker = tickMs > 0 ? setInterval(() => void tick().catch(onError), tickMs) : undefined;
  ticker?.unref();
  ctx.checkins.start();
  // Serving starts at once; until the fleet is read in, a device's first check-in reads it.
  const warmUp = new AbortController();
  const warming = ctx.cache.warmUp({ signal: warmUp.signal }).catch(onError);
  app.addHook("onClose", async () => {
    clearInterval(ticker);
    warmUp.abort();
    await warming;
    await ctx.checkins.stop();
  });
  return { app, ctx, flush: settled(() => ctx.checkins.flush()), tick: settled(tick) };
}
