/**
 * `mpota bench server --nodes N`: N `mpota serve` processes on one PostgreSQL (one data folder, as
 * behind a shared volume), 1,000,000 devices, and a round-robin client (the connections spread evenly
 * over the nodes). Then, with the fleet quiet: how long until every node refuses a token revoked
 * through one node, and until every node gives a device the next rollout step set through one node.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { sql } from "kysely";
import { openDatabase } from "../src/db/index.ts";
import { AdminClient, publishRelease } from "../src/server/index.ts";
import { bucketOf } from "../src/server/rollouts/policy.ts";
import { createTestDatabase, postgresUrl } from "../testing/db.ts";
import { testKey, testRelease } from "../testing/release.ts";
import { type ServeProcess, spawnServe } from "../testing/server.ts";

const DEVICES = 1_000_000;
const SECONDS = 10;
const CONNECTIONS = 48;
const LOAD = resolve(import.meta.dirname, "server-load.ts");

type Node = ServeProcess;

function startNode(dbUrl: string, dataDir: string): Promise<Node> {
  return spawnServe(["--db", dbUrl, "--data", dataDir, "--checkin-interval", "0"]);
}

function stopNode(node: Node): Promise<void> {
  return new Promise((done) => {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return done();
    node.child.once("exit", () => done());
    node.child.kill("SIGTERM");
  });
}

/** 1,000,000 devices in multi-row inserts of 20,000 (unnest): tokens are `mpd_bench<i>`-derived. */
async function seedFleet(dbUrl: string, project: string): Promise<Array<[string, string]>> {
  const db = await openDatabase(dbUrl);
  const devices: Array<[string, string]> = [];
  const secret = randomBytes(8).toString("hex");
  try {
    const now = Date.now();
    for (let start = 0; start < DEVICES; start += 20_000) {
      const ids: string[] = [];
      const hashes: string[] = [];
      for (let i = start; i < Math.min(DEVICES, start + 20_000); i++) {
        const id = `dev-${i}`;
        const token = `mpd_${secret}_${i}`;
        devices.push([id, token]);
        ids.push(id);
        hashes.push(createHash("sha256").update(token).digest("hex"));
      }
      await sql`insert into devices (project, id, token_hash, status, tags, version, state, created_at)
        select ${project}, id, hash, 'active', '[]', '1.0.0', 'good', ${now}
        from unnest(${ids}::text[], ${hashes}::text[]) as t(id, hash)`.execute(db.kysely);
    }
    await sql`analyze devices`.execute(db.kysely);
  } finally {
    await db.close();
  }
  return devices;
}

/** Polls every node with `probe` until each says yes; the slowest node's time from `started`. */
async function worstNodeMs(nodes: Node[], started: number, probe: (url: string) => Promise<boolean>) {
  const times = await Promise.all(
    nodes.map(async (node) => {
      for (;;) {
        if (await probe(node.url)) return performance.now() - started;
        if (performance.now() - started > 30_000) return Number.POSITIVE_INFINITY;
        await new Promise((done) => setTimeout(done, 5));
      }
    }),
  );
  return Math.round(Math.max(...times));
}

export async function measureNodes(count: number, progress: (m: string) => void) {
  if (!postgresUrl) throw new Error("no PostgreSQL (run .ci/postgres.sh install or set MPOTA_TEST_PG)");
  const testDb = await createTestDatabase("postgres");
  const dataDir = mkdtempSync(join(tmpdir(), "mpota-bench-nodes-"));
  const nodes: Node[] = [];
  try {
    progress(`starting ${count} mpota serve processes on one PostgreSQL`);
    nodes.push(await startNode(testDb.url, dataDir));
    const token = nodes[0]!.adminToken!;
    for (let i = 1; i < count; i++) nodes.push(await startNode(testDb.url, dataDir));
    const admins = nodes.map((n) => new AdminClient(n.url, token));
    const key = testKey();
    await admins[0]!.request("POST", "/projects", { name: "bench" });
    await admins[0]!.request("POST", "/projects/bench/keys", { publicKey: key.publicKeyHex });
    for (const version of ["1.0.0", "2.0.0"]) {
      const release = testRelease("bench", version, { "main.py": `print('${version}')\n` }, key);
      await publishRelease(admins[0]!, release.files, { project: "bench" });
    }
    await admins[0]!.request("PUT", "/projects/bench/channels/stable", { version: "1.0.0" });
    progress(`registering ${DEVICES} devices`);
    const devices = await seedFleet(testDb.url, "bench");
    const tokensFile = join(dataDir, "devices.json");
    writeFileSync(tokensFile, JSON.stringify(devices));
    const checkIn = (url: string, [id, tok]: [string, string]) =>
      fetch(`${url}/d/bench/channels/stable.json?version=1.0.0&state=good`, {
        headers: { authorization: `Bearer ${tok}`, "x-mpota-device": id },
      });
    const probe = await checkIn(nodes[0]!.url, devices[0]!);
    const etag = probe.headers.get("etag")!;
    await probe.arrayBuffer();

    progress(`autocannon: ${CONNECTIONS} connections over ${count} nodes for ${SECONDS} s`);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        LOAD,
        nodes.map((n) => n.url).join(","),
        "bench",
        tokensFile,
        etag,
        String(SECONDS),
        String(CONNECTIONS),
      ],
      { maxBuffer: 1 << 20 },
    );
    const load = JSON.parse(stdout) as {
      requestsPerSecond: number;
      p50Ms: number;
      p99Ms: number;
      statusCodes: Record<string, number>;
    };
    const loadAverage = loadavg().map((n) => Number(n.toFixed(2)));

    progress("revocation and rollout step through one node, seen by every node");
    const victim = devices[1]!;
    for (const node of nodes) await (await checkIn(node.url, victim)).arrayBuffer();
    let started = performance.now();
    await admins[0]!.request("PATCH", "/projects/bench/devices/dev-1", { status: "revoked" });
    const revokeToRefusedMs = await worstNodeMs(nodes, started, async (url) => {
      const res = await checkIn(url, victim);
      await res.arrayBuffer();
      return res.status === 401;
    });
    const rollout = await admins[0]!.request<{ id: string }>("POST", "/projects/bench/rollouts", {
      channel: "stable",
      version: "2.0.0",
      steps: [1, 100],
      minWaitSeconds: 3600,
    });
    // a device outside the first 1 %: the old release until the step to 100 %
    const outside = devices.find(([id]) => bucketOf(id, rollout.id) >= 100 && id !== victim[0])!;
    const version = async (url: string) => {
      const res = await checkIn(url, outside);
      return JSON.parse((await res.text()).split("\n")[1]!).version as string;
    };
    for (const node of nodes) if ((await version(node.url)) !== "1.0.0") throw new Error("rollout bucket");
    started = performance.now();
    await admins[0]!.request("POST", `/projects/bench/rollouts/${rollout.id}/advance`);
    const stepChangeMs = await worstNodeMs(nodes, started, async (url) => (await version(url)) === "2.0.0");
    return {
      nodes: count,
      devices: DEVICES,
      connections: CONNECTIONS,
      seconds: SECONDS,
      postgres: {
        checkinsPerSecond: Math.round(load.requestsPerSecond),
        p50Ms: load.p50Ms,
        p99Ms: load.p99Ms,
        statusCodes: load.statusCodes,
      },
      revokeToRefusedMs,
      stepChangeMs,
      loadAverage,
    };
  } finally {
    await Promise.all(nodes.map(stopNode));
    await testDb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
