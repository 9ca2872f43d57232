/**
 * Real `mpota serve` processes: first start prints the admin token once; SIGKILL in the middle of an
 * upload leaves no partial release and the upload can be redone; the admin CLI against a live server;
 * two processes on one PostgreSQL answer alike during one rollout.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase, postgresUrl, type TestDatabase } from "../../testing/db.ts";
import { spawnServe, testKey, testRelease } from "../../testing/server.ts";
import { scaled } from "../../testing/sim.ts";
import { buildProgram } from "../cli/main.ts";
import { openDatabase } from "../db/index.ts";
import { AdminClient, publishRelease } from "./admin-client.ts";
import { bucketOf } from "./rollouts/policy.ts";

const children: ChildProcess[] = [];
const dirs: string[] = [];

const startServe = (args: string[]) => spawnServe(args, (child) => children.push(child));

function stopped(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
    child.kill(signal);
  });
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mpota-serve-"));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => stopped(c)));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs an `mpota` command in this process and returns what it printed on stdout. */
async function mpota(...argv: string[]): Promise<string> {
  let printed = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    printed += String(chunk);
    return true;
  });
  try {
    await buildProgram().parseAsync(["node", "mpota", ...argv]);
  } finally {
    spy.mockRestore();
  }
  return printed;
}

describe("mpota serve (SQLite)", () => {
  it("prints the admin token on the first start only", async () => {
    const data = tempDir();
    const first = await startServe(["--data", data]);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.adminToken).toMatch(/^mpa_/);
    const status = await fetch(`${first.url}/`);
    expect(await status.text()).toContain("mpota update server");
    await stopped(first.child);
    const second = await startServe(["--data", data]);
    expect(second.adminToken).toBeUndefined();
    const projects = await fetch(`${second.url}/api/v1/projects`, {
      headers: { authorization: `Bearer ${first.adminToken}` },
    });
    expect(projects.status).toBe(200);
  });

  it("takes its limits from the command line", async () => {
    const { url } = await startServe([
      "--data",
      tempDir(),
      "--max-concurrent",
      "7",
      "--auth-failures-per-minute",
      "2",
    ]);
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({
      ok: true,
      deviceRequests: 0,
      maxConcurrent: 7,
    });
    const guess = () =>
      fetch(`${url}/d/p/channels/stable.json`, {
        headers: { authorization: "Bearer mpd_guess", "x-mpota-device": "d" },
      });
    expect((await guess()).status).toBe(401);
    expect((await guess()).status).toBe(401);
    const throttled = await guess();
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("writes the check-ins it holds when stopped with SIGTERM", async () => {
    const data = tempDir();
    // a flush interval far longer than the test: only the stop can write the check-in
    const server = await startServe(["--data", data, "--flush-interval", "60000"]);
    const admin = new AdminClient(server.url, server.adminToken!);
    const key = testKey();
    await admin.request("POST", "/projects", { name: "p" });
    await admin.request("POST", "/projects/p/keys", { publicKey: key.publicKeyHex });
    const release = testRelease("p", "1.0.0", { "main.py": "v = 1\n" }, key);
    await publishRelease(admin, release.files, { project: "p", channel: "stable" });
    const { token } = await admin.request<{ token: string }>("POST", "/projects/p/devices", { id: "d1" });
    const res = await fetch(`${server.url}/d/p/channels/stable.json?version=1.0.0&state=good`, {
      headers: { authorization: `Bearer ${token}`, "x-mpota-device": "d1" },
    });
    expect(res.status).toBe(200);
    await stopped(server.child);
    expect(server.child.exitCode).toBe(0);
    const db = await openDatabase(join(data, "mpota.db"));
    try {
      const row = await db.kysely
        .selectFrom("devices")
        .select(["version", "state", "last_seen"])
        .where("id", "=", "d1")
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ version: "1.0.0", state: "good" });
      expect(row.last_seen).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it("leaves no partial release after SIGKILL mid-upload, and the upload can be redone", async () => {
    const data = tempDir();
    const server = await startServe(["--data", data]);
    const client = new AdminClient(server.url, server.adminToken!);
    const key = testKey();
    await client.request("POST", "/projects", { name: "p" });
    await client.request("POST", "/projects/p/keys", { publicKey: key.publicKeyHex });
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const release = testRelease("p", "1.0.0", { "main.py": "print(1)\n", "big.bin": big }, key);
    const [smallName, smallBlob] = [...release.blobs.entries()].find(([, b]) => b.length < 100)!;
    await client.request("PUT", `/projects/p/blobs/${smallName}`, smallBlob);
    // Send half of the big blob, then kill the server while it waits for the rest.
    const [bigName, bigBlob] = [...release.blobs.entries()].find(([, b]) => b.length > 100)!;
    const url = new URL(`${server.url}/api/v1/projects/p/blobs/${bigName}`);
    const upload = request(url, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${server.adminToken}`,
        "content-type": "application/octet-stream",
        "content-length": bigBlob.length,
      },
    });
    upload.on("error", () => {});
    upload.write(bigBlob.subarray(0, bigBlob.length >> 1));
    await vi.waitUntil(() => readdirSync(join(data, "tmp")).length > 0, { timeout: 5000 });
    await stopped(server.child, "SIGKILL");
    upload.destroy();

    const again = await startServe(["--data", data]);
    const client2 = new AdminClient(again.url, server.adminToken!);
    expect(readdirSync(join(data, "tmp"))).toEqual([]);
    expect((await client2.request<{ releases: unknown[] }>("GET", "/projects/p/releases")).releases).toEqual(
      [],
    );
    const plan = await client2.request<{ missing: { blobs: string[] } }>(
      "POST",
      "/projects/p/releases/plan",
      release.envelope,
    );
    expect(plan.missing.blobs).toEqual([bigName]);
    const result = await publishRelease(client2, release.files, { project: "p", channel: "stable" });
    expect(result).toMatchObject({
      version: "1.0.0",
      uploaded: 1,
      skipped: 1,
      created: true,
      channel: "stable",
    });
    expect(readFileSync(join(data, "store/p/blobs", bigName)).equals(bigBlob)).toBe(true);
  });

  it("runs the admin commands against a live server", async () => {
    const data = tempDir();
    const server = await startServe(["--data", data, "--flush-interval", "60000"]);
    const auth = ["--server", server.url, "--token", server.adminToken!];
    const key = testKey();
    expect(await mpota("project", "add", "greenhouse", ...auth)).toBe("created project greenhouse\n");
    expect(await mpota("project", "key", "greenhouse", "--key", key.publicKeyHex, ...auth)).toContain(
      key.keyId,
    );
    const configPath = join(data, "ota_config.json");
    const added = await mpota(
      "device",
      "add",
      "board-1",
      "--project",
      "greenhouse",
      "--tag",
      "lab",
      "--out",
      configPath,
      ...auth,
    );
    expect(added).toMatch(/token \(shown once\): mpd_/);
    const config = JSON.parse(readFileSync(configPath, "utf8"));
    expect(config).toMatchObject({
      project: "greenhouse",
      keys: [key.publicKeyHex],
      source: { type: "server", url: server.url, channel: "stable", device_id: "board-1" },
    });
    const list = JSON.parse(await mpota("device", "list", "--project", "greenhouse", "--json", ...auth));
    expect(list.devices.map((d: { id: string; tags: string[] }) => [d.id, d.tags])).toEqual([
      ["board-1", ["lab"]],
    ]);
    const release = testRelease("greenhouse", "1.0.0", { "main.py": "print(1)\n" }, key);
    const client = new AdminClient(server.url, server.adminToken!);
    await publishRelease(client, release.files, { project: "greenhouse", channel: "stable" });
    const release2 = testRelease("greenhouse", "1.1.0", { "main.py": "print(2)\n" }, key);
    await publishRelease(client, release2.files, { project: "greenhouse" });
    const started = JSON.parse(
      await mpota(
        "rollout",
        "start",
        "--project",
        "greenhouse",
        "--release",
        "1.1.0",
        "--steps",
        "50,100",
        "--json",
        ...auth,
      ),
    );
    expect(started).toMatchObject({ from: "1.0.0", to: "1.1.0", percent: 50, state: "running" });
    expect(await mpota("rollout", "pause", started.id, "--project", "greenhouse", ...auth)).toContain(
      "paused at 50%",
    );
    expect(await mpota("device", "revoke", "board-1", "--project", "greenhouse", ...auth)).toBe(
      "device board-1: revoked\n",
    );
    const checkin = await fetch(`${server.url}/d/greenhouse/channels/stable.json`, {
      headers: { authorization: `Bearer ${config.source.token}`, "x-mpota-device": "board-1" },
    });
    expect(checkin.status).toBe(401);
    await expect(mpota("project", "add", "greenhouse", ...auth)).rejects.toThrow(
      /409 project "greenhouse" already exists/,
    );
    await expect(mpota("project", "list", "--server", server.url, "--token", "mpa_wrong")).rejects.toThrow(
      /401 unknown admin token/,
    );
    await expect(mpota("project", "list", "--server", "http://127.0.0.1:1", "--token", "x")).rejects.toThrow(
      /cannot reach/,
    );
  });
});

describe.skipIf(!postgresUrl)("two mpota serve processes on one PostgreSQL", () => {
  let testDb: TestDatabase;
  afterAll(async () => testDb?.drop());

  it("give every device the same answer during one rollout", async () => {
    testDb = await createTestDatabase("postgres");
    const [a, b] = await Promise.all([
      startServe(["--data", tempDir(), "--db", testDb.url, "--checkin-interval", "0"]),
      startServe(["--data", tempDir(), "--db", testDb.url, "--checkin-interval", "0"]),
    ]);
    // exactly one of them made the first admin token
    const token = (a.adminToken ?? b.adminToken)!;
    expect([a.adminToken, b.adminToken].filter(Boolean)).toHaveLength(1);
    const clients = [new AdminClient(a.url, token), new AdminClient(b.url, token)] as const;
    const key = testKey();
    await clients[0].request("POST", "/projects", { name: "p" });
    await clients[1].request("POST", "/projects/p/keys", { publicKey: key.publicKeyHex });
    // each server keeps its own blob folder, so each gets the files (as behind a shared volume or object store)
    for (const [i, version] of ["1.0.0", "2.0.0"].entries()) {
      const release = testRelease("p", version, { "main.py": `v = ${i}\n` }, key);
      for (const client of clients) await publishRelease(client, release.files, { project: "p" });
    }
    await clients[1].request("PUT", "/projects/p/channels/stable", { version: "1.0.0" });
    const devices: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < 40; i++) {
      const id = `dev-${i}`;
      devices.push({
        id,
        token: (await clients[i % 2]!.request<{ token: string }>("POST", "/projects/p/devices", { id }))
          .token,
      });
    }
    const rollout = await clients[0].request<{ id: string }>("POST", "/projects/p/rollouts", {
      channel: "stable",
      version: "2.0.0",
      steps: [25, 100],
      minWaitSeconds: 3600,
    });
    const answers = async (round: number) => {
      const out: string[] = [];
      for (const [i, d] of devices.entries()) {
        const server = (i + round) % 2 === 0 ? a : b;
        const res = await fetch(`${server.url}/d/p/channels/stable.json?version=1.0.0&state=good`, {
          headers: { authorization: `Bearer ${d.token}`, "x-mpota-device": d.id },
        });
        expect(res.status).toBe(200);
        out.push(JSON.parse((await res.text()).split("\n")[1]!).version);
      }
      return out;
    };
    const expected = devices.map((d) => (bucketOf(d.id, rollout.id) < 2500 ? "2.0.0" : "1.0.0"));
    expect(await answers(0)).toEqual(expected);
    expect(await answers(1)).toEqual(expected);
    // a change made through one server is what the other answers within a second (its cache is told):
    // one check-in per try, so a busy machine does not eat the second (bench server --nodes measures it)
    const within1s = (check: () => Promise<void>) =>
      vi.waitFor(check, { timeout: scaled(1000), interval: 20 });
    const checkIn = (server: { url: string }, d: { id: string; token: string }, query = "") =>
      fetch(`${server.url}/d/p/channels/stable.json${query}`, {
        headers: { authorization: `Bearer ${d.token}`, "x-mpota-device": d.id },
      });
    const answer = async (server: { url: string }, d: { id: string; token: string }) => {
      const res = await checkIn(server, d, "?version=1.0.0&state=good");
      return JSON.parse((await res.text()).split("\n")[1]!).version as string;
    };
    // a device outside the first step: only the advance offers it the new release
    const outside = devices.findIndex((d) => bucketOf(d.id, rollout.id) >= 2500);
    await clients[1].request("POST", `/projects/p/rollouts/${rollout.id}/advance`);
    await within1s(async () => expect(await answer(a, devices[outside]!)).toBe("2.0.0"));
    expect(await answers(0)).toEqual(devices.map(() => "2.0.0"));
    // a pause on b: a device not yet on the new release gets the old one from a too
    await clients[1].request("POST", `/projects/p/rollouts/${rollout.id}/pause`);
    await within1s(async () => expect(await answer(a, devices[5]!)).toBe("1.0.0"));
    await clients[0].request("POST", `/projects/p/rollouts/${rollout.id}/abort`);
    await within1s(async () => expect(await answer(b, devices[outside]!)).toBe("1.0.0"));
    expect(await answers(1)).toEqual(devices.map(() => "1.0.0"));
    // a revocation on a: b refuses the token (which it has cached by now)
    expect((await checkIn(b, devices[3]!)).status).toBe(200);
    await clients[0].request("PATCH", "/projects/p/devices/dev-3", { status: "revoked" });
    await within1s(async () => expect((await checkIn(b, devices[3]!)).status).toBe(401));
  });
});
