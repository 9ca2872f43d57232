/**
 * Update-server figures: check-ins per second and p50/p99 latency with 100,000 registered devices,
 * on SQLite (the default) and on PostgreSQL, with autocannon in a second process; and the time to
 * publish a 1,000-file release to a running server (plan, upload every blob, commit, set channel).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Db, openDatabase } from "../src/db/index.ts";
import { AdminClient, bootstrapAdminToken, createServer, publishRelease } from "../src/server/index.ts";
import { hashToken, newToken } from "../src/server/tokens.ts";
import { testKey, testRelease } from "../testing/release.ts";
import type { Benchmark } from "./index.ts";

const DEVICES = 100_000;
const SECONDS = 10;
const CONNECTIONS = 50;
const PUBLISH_FILES = 1000;
const LOAD = resolve(import.meta.dirname, "server-load.ts");

interface Load {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

async function registerFleet(db: Db, project: string): Promise<Array<[string, string]>> {
  const devices: Array<[string, string]> = [];
  const rows = [];
  const now = Date.now();
  for (let i = 0; i < DEVICES; i++) {
    const id = `dev-${i}`;
    const { token } = newToken("device");
    devices.push([id, token]);
    rows.push({
      project,
      id,
      token_hash: hashToken(token),
      status: "active" as const,
      tags: "[]",
      version: "1.0.0",
      state: "good",
      created_at: now,
    });
  }
  for (let i = 0; i < rows.length; i += 1000)
    await db.kysely
      .insertInto("devices")
      .values(rows.slice(i, i + 1000))
      .execute();
  return devices;
}

/** One server on `dbUrl` in this process, the fleet registered, a release on channel stable, autocannon in a child. */
async function measure(dbUrl: string | undefined, progress: (m: string) => void, withPublish: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), "mpota-bench-server-"));
  const db = await openDatabase(dbUrl ?? join(dataDir, "mpota.db"), { poolSize: 20 });
  try {
    const server = await createServer({ db, dataDir });
    const token = (await bootstrapAdminToken(db.kysely, Date.now()))!;
    await server.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = server.app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}`;
    const client = new AdminClient(url, token);
    const key = testKey();
    await client.request("POST", "/projects", { name: "bench" });
    await client.request("POST", "/projects/bench/keys", { publicKey: key.publicKeyHex });
    const release = testRelease("bench", "1.0.0", { "main.py": "print('hello')\n" }, key);
    await publishRelease(client, release.files, { project: "bench", channel: "stable" });

    let publishSeconds: number | undefined;
    if (withPublish) {
      progress(`publishing a ${PUBLISH_FILES}-file release`);
      const files: Record<string, string> = {};
      for (let i = 0; i < PUBLISH_FILES; i++)
        files[`lib/mod${String(i).padStart(4, "0")}.py`] =
          `# module ${i}\n${"def f(x):\n    return x * %d\n".replace("%d", String(i)).repeat(40)}`;
      const big = testRelease("bench", "2.0.0", files, key);
      const started = performance.now();
      await publishRelease(client, big.files, { project: "bench", channel: "next" });
      publishSeconds = Number(((performance.now() - started) / 1000).toFixed(2));
    }

    progress(`registering ${DEVICES} devices (${db.dialect})`);
    const devices = await registerFleet(db, "bench");
    const tokensFile = join(dataDir, "devices.json");
    writeFileSync(tokensFile, JSON.stringify(devices));
    const probe = await fetch(`${url}/d/bench/channels/stable.json`, {
      headers: { authorization: `Bearer ${devices[0]![1]}`, "x-mpota-device": devices[0]![0] },
    });
    const etag = probe.headers.get("etag")!;
    progress(`autocannon: ${CONNECTIONS} connections for ${SECONDS} s against ${db.dialect}`);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", LOAD, url, "bench", tokensFile, etag, String(SECONDS), String(CONNECTIONS)],
      { maxBuffer: 1 << 20 },
    );
    const load = JSON.parse(stdout) as Load;
    await server.app.close();
    return { load, publishSeconds };
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const run: Benchmark = async ({ progress, nodes }) => {
  if (nodes > 1) return (await import("./server-nodes.ts")).measureNodes(nodes, progress);
  const sqlite = await measure(undefined, progress, true);
  let postgres:
    | { checkinsPerSecond: number; p50Ms: number; p99Ms: number; statusCodes: Record<string, number> }
    | { error: string };
  try {
    const { createTestDatabase, postgresUrl } = await import("../testing/db.ts");
    if (!postgresUrl) throw new Error("no PostgreSQL (run .ci/postgres.sh install or set MPOTA_TEST_PG)");
    const testDb = await createTestDatabase("postgres");
    try {
      const { load } = await measure(testDb.url, progress, false);
      postgres = {
        checkinsPerSecond: Math.round(load.requestsPerSecond),
        p50Ms: load.p50Ms,
        p99Ms: load.p99Ms,
        statusCodes: load.statusCodes,
      };
    } finally {
      await testDb.drop();
    }
  } catch (err) {
    postgres = { error: (err as Error).message };
  }
  return {
    checkinsPerSecond: Math.round(sqlite.load.requestsPerSecond),
    p50Ms: sqlite.load.p50Ms,
    p99Ms: sqlite.load.p99Ms,
    devices: DEVICES,
    connections: CONNECTIONS,
    seconds: SECONDS,
    statusCodes: sqlite.load.statusCodes,
    errors: sqlite.load.errors + sqlite.load.timeouts,
    postgres,
    publish1000FilesSeconds: sqlite.publishSeconds,
  };
};

export default run;
