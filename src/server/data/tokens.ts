/** Admin tokens (roles admin and read-only) and the audit log. */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { AdminRole, AuditEntry, Database } from "../../db/index.ts";
import { recordAudit } from "../audit.ts";
import { DataError } from "../errors.ts";
import { newToken } from "../tokens.ts";
import type { Change } from "./change.ts";

type Db = Kysely<Database>;

/**
 * On a server with no admin token yet, makes one and returns it (to print once); else undefined.
 * Several processes starting at once on one database create only one.
 */
export async function bootstrapAdminToken(db: Db, now: number): Promise<string | undefined> {
  const any = await db.selectFrom("admin_tokens").select("id").limit(1).executeTakeFirst();
  if (any) return undefined;
  const { token, hash } = newToken("admin");
  const result = await db
    .insertInto("admin_tokens")
    .values({ id: "bootstrap", name: "bootstrap", role: "admin", token_hash: hash, created_at: now })
    .onConflict((oc) => oc.column("id").doNothing())
    .executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
  await recordAudit(db, now, { actor: "system", action: "token.bootstrap", target: "bootstrap" });
  return token;
}

export async function createAdminToken(db: Db, name: string, role: AdminRole, now: number, actor: string) {
  const { token, hash } = newToken("admin");
  const id = randomUUID();
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("admin_tokens")
      .values({ id, name, role, token_hash: hash, created_at: now })
      .execute();
    await recordAudit(trx, now, { actor, action: "token.create", target: id, detail: { name, role } });
  });
  return { id, name, role, token };
}

/** The id, name and role of the admin token whose hash is `tokenHash`, or undefined. */
export function findAdminToken(db: Db, tokenHash: string) {
  return db
    .selectFrom("admin_tokens")
    .select(["id", "name", "role"])
    .where("token_hash", "=", tokenHash)
    .executeTakeFirst();
}

export function listAdminTokens(db: Db) {
  return db
    .selectFrom("admin_tokens")
    .select(["id", "name", "role", "created_at"])
    .orderBy("created_at")
    .execute();
}

export async function deleteAdminToken(db: Db, id: string, change: Change): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom("admin_tokens").where("id", "=", id).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new DataError("not-found", `no admin token ${id}`);
    await recordAudit(trx, change.at, { actor: change.actor, action: "token.delete", target: id });
  });
}

/** The newest `limit` audit entries, of one project or all. */
export function listAudit(db: Db, limit: number, project?: string): Promise<AuditEntry[]> {
  let query = db.selectFrom("audit").selectAll().orderBy("at", "desc").limit(limit);
  if (project) query = query.where("project", "=", project);
  return query.execute();
}
