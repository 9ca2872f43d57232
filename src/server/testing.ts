/** Test helpers: a server on a fresh database and data folder (and the signed test releases). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Dialect, openDatabase } from "../db/index.ts";
import { createTestDatabase } from "../db/testing.ts";
import { createServer, type MpotaServer, type ServerOptions } from "./app.ts";
import { bootstrapAdminToken } from "./routes/tokens.ts";

export { type TestKey, type TestRelease, testKey, testProject, testRelease } from "./test-release.ts";

export interface TestServer extends MpotaServer {
  adminToken: string;
  dataDir: string;
  dbUrl: string;
  close(): Promise<void>;
}

/** A server on a new database of `dialect` and a new data folder; `close()` removes both. */
export async function startTestServer(
  dialect: Dialect,
  options: Partial<Omit<ServerOptions, "db" | "dataDir">> = {},
): Promise<TestServer> {
  const testDb = await createTestDatabase(dialect);
  const db = await openDatabase(testDb.url);
  const dataDir = mkdtempSync(join(tmpdir(), "mpota-server-"));
  const server = await createServer({ db, dataDir, tickIntervalMs: 0, ...options });
  const adminToken = (await bootstrapAdminToken(db.kysely, Date.now()))!;
  return {
    ...server,
    adminToken,
    dataDir,
    dbUrl: testDb.url,
    close: async () => {
      await server.app.close();
      await db.close();
      await testDb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
