/** The audit log: one row per change, written in the same transaction as the change when there is one. */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db/index.ts";

export interface AuditRecord {
  actor: string;
  action: string;
  project?: string | null;
  target?: string | null;
  detail?: Record<string, unknown>;
}

export async function recordAudit(db: Kysely<Database>, at: number, record: AuditRecord): Promise<void> {
  await db
    .insertInto("audit")
    .values({
      id: randomUUID(),
      at,
      actor: record.actor,
      action: record.action,
      project: record.project ?? null,
      target: record.target ?? null,
      detail: JSON.stringify(record.detail ?? {}),
    })
    .execute();
}
