/** Whether the database answers, for `/healthz`. */
import type { Kysely } from "kysely";
import type { Database } from "../../db/index.ts";

/** Resolves once the database has answered a query (the smallest there is: one project name); else throws. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await db.selectFrom("projects").select("name").limit(1).execute();
}
