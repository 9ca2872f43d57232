/**
 * Dashboard sessions: signing in with an admin token gives the browser an httpOnly, SameSite=Strict
 * cookie standing for that token (the token itself never reaches page scripts, storage or URLs).
 * A session acts with its token's name and role, and ends with it. A write made with a session
 * must also carry the session's CSRF value in X-Mpota-CSRF, which only the dashboard's own page
 * can read (from the sign-in answer or GET /api/v1/session).
 */
import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AdminIdentity } from "./auth.ts";
import type { ServerContext } from "./context.ts";
import { createSession, deleteSession, findLiveSession } from "./data/index.ts";
import { HttpError } from "./errors.ts";
import { hashToken } from "./tokens.ts";

export const SESSION_COOKIE = "mpota_session";
export const CSRF_HEADER = "x-mpota-csrf";
/** A session lasts this long from sign-in. */
export const SESSION_MS = 12 * 3600 * 1000;

export interface Session {
  identity: AdminIdentity;
  csrf: string;
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function cookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === "https" ? "; Secure" : "";
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

/**
 * Starts a session for the admin token `admin` (audited as its sign-in) and sets its cookie on
 * `reply`; returns its CSRF value.
 */
export async function startSession(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  admin: Pick<AdminIdentity, "id" | "name">,
): Promise<string> {
  const secret = randomBytes(32).toString("base64url");
  const csrf = randomBytes(24).toString("base64url");
  const now = ctx.now();
  await createSession(
    ctx.db.kysely,
    { idHash: hashToken(secret), tokenId: admin.id, csrf, expiresAt: now + SESSION_MS },
    { actor: `token:${admin.name}`, at: now },
  );
  reply.header("set-cookie", cookie(request, secret, SESSION_MS / 1000));
  return csrf;
}

/** Ends the request's session (if any) and clears its cookie on `reply`. */
export async function endSession(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply) {
  const secret = cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (secret) await deleteSession(ctx.db.kysely, hashToken(secret));
  reply.header("set-cookie", cookie(request, "", 0));
}

/** The request's live session, or undefined when it sends no session cookie or an unknown/expired one. */
export async function findSession(ctx: ServerContext, request: FastifyRequest): Promise<Session | undefined> {
  const secret = cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (!secret) return undefined;
  const row = await findLiveSession(ctx.db.kysely, hashToken(secret), ctx.now());
  if (!row) return undefined;
  return { identity: { id: row.id, name: row.name, role: row.role }, csrf: row.csrf };
}

/**
 * The admin a cookie-only request acts as: 401 without a live session; a write without the session's
 * CSRF value is 403 (a page of another site can make the browser send the cookie, never the header).
 */
export async function sessionAdmin(ctx: ServerContext, request: FastifyRequest): Promise<AdminIdentity> {
  const session = await findSession(ctx, request);
  if (!session)
    throw new HttpError(401, "missing admin token (Authorization: Bearer …) or dashboard session", {
      "www-authenticate": 'Bearer realm="mpota"',
    });
  const write = request.method !== "GET" && request.method !== "HEAD";
  if (write && request.headers[CSRF_HEADER] !== session.csrf)
    throw new HttpError(403, `a write with a dashboard session needs its ${CSRF_HEADER} header`);
  return session.identity;
}
