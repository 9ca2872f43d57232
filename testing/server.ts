/** Test helpers: a server on a fresh database and data folder (and the signed test releases). */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Dialect, openDatabase } from "../src/db/index.ts";
import { createServer, type MpotaServer, type ServerOptions } from "../src/server/app.ts";
import { bootstrapAdminToken } from "../src/server/data/index.ts";
import { createTestDatabase } from "./db.ts";

export { type TestKey, type TestRelease, testKey, testProject, testRelease } from "./release.ts";

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

/** An `mpota serve --json` child process, once it has said where it listens. */
export interface ServeProcess {
  url: string;
  adminToken?: string;
  child: ChildProcess;
}

const BIN = resolve(import.meta.dirname, "../bin/mpota.js");

/**
 * Starts `mpota serve --port 0 --json ARGS` and resolves with its first line (url, admin token);
 * `onChild` gets the process at once, so a caller can stop one that never answers.
 */
export function spawnServe(args: string[], onChild?: (child: ChildProcess) => void): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--json", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  onChild?.(child);
  return new Promise((done, fail) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) done({ ...JSON.parse(out.split("\n")[0]!), child });
    });
    child.on("exit", (code) => fail(new Error(`mpota serve exited ${code}: ${err}`)));
  });
}
