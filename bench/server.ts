/**
 * Update-server figures: check-ins per second and p50/p99 latency with 100,000 registered devices,
 * on SQLite (the default) and on PostgreSQL, with the load generator in a second process; and the
 * time to publish a 1,000-file release to a running server (plan, upload every blob, commit, set channel).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, openDatabase } from "../src/db/index.ts";
import { AdminClient, bootstrapAdminToken, createServer, publishRelease } from "../src/server/index.ts";
import { hashToken, newToken } from "../src/server/tokens.ts";
import { testKey, testRelease } from "../testing/release.ts";
import type { Benchmark } from "./index.ts";
import { figures, runLoad, waitWarm } from "./server-client.ts";

const DEVICES = 100_000;
const SECONDS = 10;
const CONNECTIONS = 50;
const PUBLISH_FILES = 1000;

async function registerFleet(db: Db, project: string): Promise<Array<[string, string]>> {
  const devices: Array<[string, string]> = [];
  const rows = [];
  const now = Date.now();
  // one more than the load uses: the probe
  for (let i = 0; i <= DEVICES; i++) {
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

/**
 * One server on `dbUrl` in this process: a release on channel stable, the fleet registered, then the
 * server started afresh on it as a node would be (it reads the fleet into its cache), and the load
 * generator in a child process.
 */
async function measure(dbUrl: string | undefined, progress: (m: string) => void, withPublish: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), "mpota-bench-server-"));
  const db = await openDatabase(dbUrl ?? join(dataDir, "mpota.db"), { poolSize: 20 });
  const start = async () => {
    const server = await createServer({ db, dataDir });
    await server.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = server.app.server.address() as { port: number };
    return { server, url: `http://127.0.0.1:${port}` };
  };
  try {
    let { server, url } = await start();
    const token = (await bootstrapAdminToken(db.kysely, Date.now()))!;
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
    const [probeDevice, ...devices] = await registerFleet(db, "bench");
    const tokensFile = join(dataDir, "devices.json");
    writeFileSync(tokensFile, JSON.stringify(devices));
    await server.app.close();
    const restarted = performance.now();
    ({ server, url } = await start());
    const warmUpMs = await waitWarm(url, restarted);
    // The probe device is not in the load's list: a device checking in twice within the check-in
    // interval is refused (429), as the first device of the load was when it was the probe too.
    const probe = await fetch(`${url}/d/bench/channels/stable.json`, {
      headers: { authorization: `Bearer ${probeDevice![1]}`, "x-mpota-device": probeDevice![0] },
    });
    const etag = probe.headers.get("etag")!;
    progress(`check-ins: ${CONNECTIONS} connections for ${SECONDS} s against ${db.dialect}`);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const load = await runLoad([url], tokensFile, etag, SECONDS, CONNECTIONS);
    const cpu = process.cpuUsage(cpuBefore);
    const serverCores = (cpu.user + cpu.system) / 1000 / (performance.now() - started);
    await server.app.close();
    return {
      ...figures(load, serverCores),
      warmUpSeconds: Number((warmUpMs / 1000).toFixed(2)),
      publishSeconds,
    };
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const run: Benchmark = async ({ progress, nodes }) => {
  if (nodes > 1) return (await import("./server-nodes.ts")).measureNodes(nodes, progress);
  const { publishSeconds, ...sqlite } = await measure(undefined, progress, true);
  let postgres: Omit<Awaited<ReturnType<typeof measure>>, "publishSeconds"> | { error: string };
  try {
    const { createTestDatabase, postgresUrl } = await import("../testing/db.ts");
    if (!postgresUrl) throw new Error("no PostgreSQL (run .ci/postgres.sh install or set MPOTA_TEST_PG)");
    const testDb = await createTestDatabase("postgres");
    try {
      const { publishSeconds: _, ...figures } = await measure(testDb.url, progress, false);
      postgres = figures;
    } finally {
      await testDb.drop();
    }
  } catch (err) {
    postgres = { error: (err as Error).message };
  }
  return {
    ...sqlite,
    devices: DEVICES,
    connections: CONNECTIONS,
    seconds: SECONDS,
    postgres,
    publish1000FilesSeconds: publishSeconds,
  };
};

export default run;
