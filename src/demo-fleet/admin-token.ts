/**
 * The demo's own admin token (named "demo"), kept in DATA/demo/admin-token. The first admin token of
 * the server stays the operator's: the demo makes its own straight in the database when it has none
 * that works (first start, or the operator deleted it).
 */
import { openDatabase } from "../db/index.ts";
import { AdminClient, ServerError } from "../server/admin-client.ts";
import { createAdminToken } from "../server/index.ts";
import type { DemoFiles } from "./files.ts";

export async function demoAdminClient(url: string, dbUrl: string, files: DemoFiles): Promise<AdminClient> {
  const saved = files.adminToken();
  if (saved) {
    const client = new AdminClient(url, saved);
    try {
      await client.request("GET", "/projects");
      return client;
    } catch (err) {
      if (!(err instanceof ServerError && err.status === 401)) throw err;
    }
  }
  const db = await openDatabase(dbUrl);
  try {
    const { token } = await createAdminToken(db.kysely, "demo", "admin", Date.now(), "demo");
    files.saveAdminToken(token);
    return new AdminClient(url, token);
  } finally {
    await db.close();
  }
}
