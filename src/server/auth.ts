/**
 * Who is asking. Admin routes take an admin token (role admin: everything; read-only: GET only);
 * device routes take the device's own token plus its id, and reach only the device's own project.
 */
import type { FastifyRequest } from "fastify";
import type { AdminRole } from "../db/index.ts";
import type { CachedDevice } from "./checkin-cache.ts";
import type { ServerContext } from "./context.ts";
import { findAdminToken } from "./data/index.ts";
import { HttpError } from "./errors.ts";
import { sessionAdmin } from "./session.ts";
import { bearerToken, hashToken } from "./tokens.ts";

export interface AdminIdentity {
  id: string;
  name: string;
  role: AdminRole;
}

declare module "fastify" {
  interface FastifyRequest {
    admin: AdminIdentity | null;
    device: CachedDevice | null;
  }
}

const WWW_AUTHENTICATE = { "www-authenticate": 'Bearer realm="mpota"' };

export function adminAuth(ctx: ServerContext) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    // Without a bearer token, the dashboard's session cookie stands for one (same name, same role).
    const row = token ? await adminTokenRow(ctx, token) : await sessionAdmin(ctx, request);
    if (row.role !== "admin" && request.method !== "GET" && request.method !== "HEAD")
      throw new HttpError(403, `token "${row.name}" is read-only`);
    request.admin = row;
  };
}

/**
 * adminAuth as the admin scope's onRequest hook: it runs on the headers alone, before any body is
 * read, and a refusal closes the connection, so an unauthenticated upload costs only its headers.
 */
export function adminAuthBeforeBody(ctx: ServerContext) {
  const check = adminAuth(ctx);
  return async (request: FastifyRequest): Promise<void> => {
    try {
      await check(request);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      throw new HttpError(err.statusCode, err.message, { ...err.headers, connection: "close" });
    }
  };
}

/** The admin token `token` is (401 when unknown). */
export async function adminTokenRow(ctx: ServerContext, token: string): Promise<AdminIdentity> {
  const row = await findAdminToken(ctx.db.kysely, hashToken(token));
  if (!row) throw new HttpError(401, "unknown admin token", WWW_AUTHENTICATE);
  return row;
}

/** The actor name written to the audit log. */
export function actorOf(request: FastifyRequest): string {
  return request.admin ? `token:${request.admin.name}` : "anonymous";
}

/**
 * Authenticates a device request for `/d/:project/…`: a known, accepted, unrevoked device of that
 * project whose id matches the X-Mpota-Device header. With `optional`, a request without a token
 * passes (blobs and patches: immutable, content-addressed, named only in signed manifests), but a
 * token that is sent is still checked.
 */
export function deviceAuth(ctx: ServerContext, optional = false) {
  return async (request: FastifyRequest): Promise<void> => {
    request.device = await authenticateDevice(ctx, request, optional);
  };
}

/** The device a request comes from (see deviceAuth); null only when `optional` and no token was sent. */
export async function authenticateDevice(
  ctx: ServerContext,
  request: FastifyRequest,
  optional = false,
): Promise<CachedDevice | null> {
  const token = bearerToken(request.headers.authorization);
  if (!token && optional) return null;
  const claimed = request.headers["x-mpota-device"];
  if (!token) throw new HttpError(401, "missing device token (Authorization: Bearer …)", WWW_AUTHENTICATE);
  if (typeof claimed !== "string" || claimed === "")
    throw new HttpError(401, "missing X-Mpota-Device header", WWW_AUTHENTICATE);
  const device = await ctx.cache.deviceByToken(hashToken(token));
  if (!device || device.id !== claimed) throw new HttpError(401, "unknown device token", WWW_AUTHENTICATE);
  if (device.status === "revoked") throw new HttpError(401, "device is revoked", WWW_AUTHENTICATE);
  const project = (request.params as { project?: string }).project;
  if (project !== device.project)
    throw new HttpError(403, `device belongs to another project than "${project}"`);
  if (device.status === "pending")
    throw new HttpError(403, "device is waiting for approval", { "retry-after": "300" });
  return device;
}
