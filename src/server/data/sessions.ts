/**
 * Dashboard sessions as the database holds them: each stands for an admin token until it expires,
 * and is known by the hash of its cookie's secret (session.ts makes the secret and the cookie).
 */
import type { Kysely } from "kysely";
import type { Database } from "../../db/index.ts";
import { recordAudit } from "../audit.ts";
import type { Change } from "./change.ts";

type Db = Kysely<Database>;

/**
 * Stores a session of the admin token `session.tokenId` from `change.at` to `session.expiresAt`,
 * and drops the expired ones; the audit log records the sign-in.
 */
export async function createSession(
  db: Db,
  session: { idHash: string; tokenId: string; csrf: string; expiresAt: number },
  change: Change,
): Promise<void> {
  await db.deleteFrom("sessions").where("expires_at", "<", change.at).execute();
  await db
    .insertInto("sessions")
    .values({
      id_hash: session.idHash,
      token_id: session.tokenId,
      csrf: session.csrf,
      created_at: change.at,
      expires_at: session.expiresAt,
    })
    .execute();
  await recordAudit(db, change.at, { actor: change.actor, action: "session.start", target: session.tokenId });
}

export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db.deleteFrom("sessions").where("id_hash", "=", idHash).execute();
}

/**
 * The admin token (id, name, role) the session `idHash` stands for, with the session's CSRF value;
 * undefined when there is no such session or it has expired at `now`.
 */
export function findLiveSession(db: Db, idHash: string, now: number) {
  return db
    .selectFrom("sessions")
    .innerJoin("admin_tokens", "admin_tokens.id", "sessions.token_id")
    .select(["admin_tokens.id", "admin_tokens.name", "admin_tokens.role", "sessions.csrf"])
    .where("sessions.id_hash", "=", idHash)
    .where("sessions.expires_at", ">", now)
    .executeTakeFirst();
}
