/**
 * `mpota bench server --nodes N`: N `mpota serve` processes on one PostgreSQL (one data folder, as
 * behind a shared volume), 1,000,000 devices, and a round-robin client (the connections spread evenly
 * over the nodes); first one node alone on the same database and fleet (`singleNode`), the figure the
 * N nodes are compared with. Each node is started on the registered fleet and measured once it has
 * read it in, after an untimed warm-up run. Then, with the fleet quiet: how long until every node
 * refuses a token revoked through one node, and until every node gives a device the next rollout step
 * set through one node.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { openDatabase } from "../src/db/index.ts";
import { AdminClient, publishRelease } from "../src/server/index.ts";
import { bucketOf } from "../src/server/rollouts/policy.ts";
import { createTestDatabase, postgresUrl } from "../testing/db.ts";
import { testKey, testRelease } from "../testing/release.ts";
import { type ServeProcess, spawnServe } from "../testing/server.ts";
import { cpuSeconds, figures, rssMb, runLoad, waitWarm } from "./server-client.ts";

const DEVICES = 1_000_000;
const SECONDS = 10;
const CONNECTIONS = 48;
/**
 * An untimed run before each timed one: a node just started compiles its check-in path and collects
 * the heap it has just read the fleet into, once; without it the timed seconds measured that too
 * (about 1.5 times the steady CPU per check-in for one node, 1.2 times for three).
 */
const WARM_UP_SECONDS = 4;

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
    // one more than the load uses: the probe
    for (let start = 0; start <= DEVICES; start += 20_000) {
      const ids: string[] = [];
      const hashes: string[] = [];
      for (let i = start; i < Math.min(DEVICES + 1, start + 20_000); i++) {
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

/** Check-ins from every device against `nodes` (round robin); the CPU the nodes used meanwhile. */
async function loadOn(nodes: Node[], tokensFile: string, etag: string) {
  const urls = nodes.map((n) => n.url);
  await runLoad(urls, tokensFile, etag, WARM_UP_SECONDS, CONNECTIONS);
  const cpu = () => nodes.reduce((sum, node) => sum + (cpuSeconds(node.child.pid!) ?? Number.NaN), 0);
  const before = cpu();
  const started = performance.now();
  const load = await runLoad(urls, tokensFile, etag, SECONDS, CONNECTIONS);
  const serverCores = (cpu() - before) / ((performance.now() - started) / 1000);
  const health = await Promise.all(
    nodes.map(
      async (node) => (await (await fetch(`${node.url}/healthz`)).json()) as { cachedDevices: number },
    ),
  );
  return {
    ...figures(load, serverCores),
    rssMb: nodes.map((node) => rssMb(node.child.pid!)),
    // after the run: a node whose listening connection was lost meanwhile has dropped its cache
    cachedDevices: health.map((h) => h.cachedDevices),
  };
}

export async function measureNodes(count: number, progress: (m: string) => void) {
  if (!postgresUrl) throw new Error("no PostgreSQL (run .ci/postgres.sh install or set MPOTA_TEST_PG)");
  const testDb = await createTestDatabase("postgres");
  const dataDir = mkdtempSync(join(tmpdir(), "mpota-bench-nodes-"));
  const nodes: Node[] = [];
  try {
    progress("setting up a project on one PostgreSQL");
    const first = await startNode(testDb.url, dataDir);
    nodes.push(first);
    const token = first.adminToken!;
    const setup = new AdminClient(first.url, token);
    const key = testKey();
    await setup.request("POST", "/projects", { name: "bench" });
    await setup.request("POST", "/projects/bench/keys", { publicKey: key.publicKeyHex });
    for (const version of ["1.0.0", "2.0.0"]) {
      const release = testRelease("bench", version, { "main.py": `print('${version}')\n` }, key);
      await publishRelease(setup, release.files, { project: "bench" });
    }
    await setup.request("PUT", "/projects/bench/channels/stable", { version: "1.0.0" });
    progress(`registering ${DEVICES} devices`);
    const [probeDevice, ...devices] = await seedFleet(testDb.url, "bench");
    const tokensFile = join(dataDir, "devices.json");
    writeFileSync(tokensFile, JSON.stringify(devices));
    await stopNode(nodes.pop()!);

    // One node, then `count`, on the same database and fleet: each started as on a running fleet.
    progress("one node: reading the fleet in");
    let started = performance.now();
    nodes.push(await startNode(testDb.url, dataDir));
    const warmUpMs = await waitWarm(nodes[0]!.url, started);
    const checkIn = (url: string, [id, tok]: [string, string]) =>
      fetch(`${url}/d/bench/channels/stable.json?version=1.0.0&state=good`, {
        headers: { authorization: `Bearer ${tok}`, "x-mpota-device": id },
      });
    const probe = await checkIn(nodes[0]!.url, probeDevice!);
    const etag = probe.headers.get("etag")!;
    await probe.arrayBuffer();
    progress(`check-ins: ${CONNECTIONS} connections on 1 node for ${SECONDS} s`);
    const singleNode = await loadOn(nodes, tokensFile, etag);

    progress(`${count} nodes: reading the fleet in`);
    for (let i = 1; i < count; i++) nodes.push(await startNode(testDb.url, dataDir));
    await Promise.all(nodes.map((node) => waitWarm(node.url)));
    progress(`check-ins: ${CONNECTIONS} connections over ${count} nodes for ${SECONDS} s`);
    const postgres = await loadOn(nodes, tokensFile, etag);

    progress("revocation and rollout step through one node, seen by every node");
    const admins = nodes.map((n) => new AdminClient(n.url, token));
    const victim = devices[1]!;
    for (const node of nodes) await (await checkIn(node.url, victim)).arrayBuffer();
    started = performance.now();
    await admins[0]!.request("PATCH", `/projects/bench/devices/${victim[0]}`, { status: "revoked" });
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
      const body = await res.text();
      if (res.status !== 200) throw new Error(`check-in of ${outside[0]} on ${url}: ${res.status} ${body}`);
      return JSON.parse(body.split("\n")[1]!).version as string;
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
      warmUpRunSeconds: WARM_UP_SECONDS,
      postgres,
      singleNode,
      warmUpSeconds: Number((warmUpMs / 1000).toFixed(2)),
      revokeToRefusedMs,
      stepChangeMs,
    };
  } finally {
    await Promise.all(nodes.map(stopNode));
    await testDb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
