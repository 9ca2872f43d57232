/**
 * The check-in cache on a real database: repeated reads stay in the process, a change by anyone
 * (plain SQL on another connection, as another server process would make it) drops the entry within
 * a second, what check-ins themselves write does not, and without its listening connection the cache
 * steps aside until it is back.
 */
import { type KyselyPlugin, sql } from "kysely";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase, postgresUrl, type TestDatabase, testDialects } from "../../testing/db.ts";
import type { PostgresChanges } from "../db/changes.ts";
import { type Db, type Dialect, openDatabase } from "../db/index.ts";
import { CheckinCache } from "./checkin-cache.ts";
import { hashToken } from "./tokens.ts";

/** Counts the statements run through it. */
function counter() {
  const counted = { n: 0 };
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      counted.n++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return { counted, plugin };
}

let testDb: TestDatabase | undefined;
const opened: Db[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
  await testDb?.drop();
  testDb = undefined;
});

/**
 * A fresh database with project "p": `db` for this server and `other` for another server process on
 * the same PostgreSQL (SQLite has one process, so the same connection).
 */
async function projectDatabase(dialect: Dialect) {
  testDb = await createTestDatabase(dialect);
  const db = await openDatabase(testDb.url);
  opened.push(db);
  const other = dialect === "postgres" ? await openDatabase(testDb.url) : db;
  if (other !== db) opened.push(other);
  const now = Date.now();
  await db.kysely.insertInto("projects").values({ name: "p", auto_accept: 1, created_at: now }).execute();
  return { db, other, now };
}

/** A project with a device, a channel in a rollout and a tag pin; a cache that counts its reads. */
async function setup(dialect: Dialect) {
  const { db, other, now } = await projectDatabase(dialect);
  for (const version of ["1.0.0", "2.0.0"])
    await db.kysely
      .insertInto("releases")
      .values({
        project: "p",
        version,
        sha256: "0".repeat(64),
        size: 1,
        files: 1,
        rollback: 0,
        created_at: now,
      })
      .execute();
  await db.kysely
    .insertInto("devices")
    .values({
      project: "p",
      id: "d1",
      token_hash: hashToken("t1"),
      status: "active",
      tags: '["lab"]',
      created_at: now,
    })
    .execute();
  await db.kysely
    .insertInto("rollouts")
    .values({
      id: "r1",
      project: "p",
      channel: "stable",
      from_version: "1.0.0",
      to_version: "2.0.0",
      steps: "[10,50,100]",
      step: 0,
      min_wait_ms: 0,
      failure_percent: 20,
      min_failures: 1,
      state: "running",
      created_at: now,
      updated_at: now,
      step_started_at: now,
    })
    .execute();
  await db.kysely
    .insertInto("channels")
    .values({ project: "p", name: "stable", version: "1.0.0", rollout_id: "r1", updated_at: now })
    .execute();
  await db.kysely.insertInto("tag_pins").values({ project: "p", tag: "lab", version: "1.0.0" }).execute();
  // the notices of the setup itself have arrived
  await db.changes.barrier();
  const { counted, plugin } = counter();
  const cache = new CheckinCache(db.kysely.withPlugin(plugin), db.changes);
  return { db, other, cache, counted };
}

describe.each(testDialects)("check-in cache (%s)", (dialect) => {
  it("reads each thing once, and again after anyone changes it", async () => {
    const { other, cache, counted } = await setup(dialect);
    const read = async () => [
      (await cache.deviceByToken(hashToken("t1")))?.status,
      (await cache.route("p", "stable"))?.rollout?.percent,
      await cache.tagPin("p", '["lab"]'),
    ];
    expect(await read()).toEqual(["active", 10, "1.0.0"]);
    expect(counted.n).toBe(3);
    expect(await read()).toEqual(["active", 10, "1.0.0"]);
    expect(counted.n).toBe(3);

    // what check-ins write is not news to the cache
    await other.kysely.updateTable("devices").set({ version: "1.0.0", last_seen: 1 }).execute();
    await other.changes.barrier();
    expect(await read()).toEqual(["active", 10, "1.0.0"]);
    expect(counted.n).toBe(3);

    await other.kysely.updateTable("devices").set({ status: "revoked" }).execute();
    await other.kysely.updateTable("rollouts").set({ step: 1 }).execute();
    await other.kysely.deleteFrom("tag_pins").execute();
    await vi.waitFor(async () => expect(await read()).toEqual(["revoked", 50, null]), { timeout: 1000 });
  });
});

describe.each(testDialects)("check-in cache lookups (%s)", (dialect) => {
  it("reads the devices of concurrent check-ins in one query, unknown tokens included", async () => {
    const { cache, counted } = await setup(dialect);
    const found = await Promise.all(
      ["t1", "nobody", "t1", "nobody-else"].map((t) => cache.deviceByToken(hashToken(t))),
    );
    expect(found.map((d) => d?.id)).toEqual(["d1", undefined, "d1", undefined]);
    expect(counted.n).toBe(1);
  });
});

describe.skipIf(!postgresUrl)("check-in cache (postgres, listening connection)", () => {
  it("goes to the database while its listening connection is lost, and caches again once back", async () => {
    const { db, other, cache, counted } = await setup("postgres");
    const changes = db.changes as PostgresChanges;
    await cache.deviceByToken(hashToken("t1"));
    changes.dropConnection();
    expect(changes.live).toBe(false);
    // a change nobody could announce to this process is still what it reads
    await sql`update devices set status = 'revoked'`.execute(other.kysely);
    const before = counted.n;
    expect((await cache.deviceByToken(hashToken("t1")))?.status).toBe("revoked");
    expect((await cache.deviceByToken(hashToken("t1")))?.status).toBe("revoked");
    expect(counted.n).toBe(before + 2);
    await vi.waitFor(() => expect(changes.live).toBe(true), { timeout: 5000 });
    await cache.deviceByToken(hashToken("t1"));
    await cache.deviceByToken(hashToken("t1"));
    expect(counted.n).toBe(before + 3);
  });
});

describe.skipIf(!postgresUrl)("check-in cache (postgres, listening connection ended by the database)", () => {
  it("notices the loss by itself, drops what it kept, and caches again once it listens again", async () => {
    const { db, other, cache, counted } = await setup("postgres");
    const changes = db.changes as PostgresChanges;
    expect((await cache.deviceByToken(hashToken("t1")))?.status).toBe("active");
    const reads = counted.n;
    // what an administrator's pg_terminate_backend, a restart or a network cut does to it
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and query = 'listen mpota_changes'`.execute(other.kysely);
    await vi.waitFor(() => expect(changes.live).toBe(false), { timeout: 5000 });
    await sql`update devices set status = 'revoked'`.execute(other.kysely);
    expect((await cache.deviceByToken(hashToken("t1")))?.status).toBe("revoked");
    expect(counted.n).toBe(reads + 1);
    await vi.waitFor(() => expect(changes.live).toBe(true), { timeout: 5000 });
    await cache.deviceByToken(hashToken("t1"));
    await cache.deviceByToken(hashToken("t1"));
    expect(counted.n).toBe(reads + 2);
  });
});

describe.each(testDialects)("check-in cache warm-up (%s)", (dialect) => {
  it("reads the fleet in a chunk at a time, then check-ins read nothing", async () => {
    const { cache, counted } = await fleet(dialect, cacheOf);
    await cache.warmUp({ chunk: 100 });
    expect(counted.n).toBe(3);
    expect(cache.warm).toBe(true);
    expect(cache.deviceCount).toBe(250);
    for (const id of ["d0", "d99", "d100", "d249"])
      expect((await cache.deviceByToken(hashToken(id)))?.id).toBe(id);
    expect(counted.n).toBe(3);
    // what a check-in already cached (and may have changed) is not overwritten by a later warm-up
    const d7 = (await cache.deviceByToken(hashToken("d7")))!;
    await cache.warmUp({ chunk: 100 });
    expect(await cache.deviceByToken(hashToken("d7"))).toBe(d7);
  });

  it("stops when asked, not warm", async () => {
    const { cache } = await fleet(dialect, cacheOf);
    const stop = new AbortController();
    stop.abort();
    await cache.warmUp({ signal: stop.signal });
    expect(cache.warm).toBe(false);
    expect(cache.deviceCount).toBe(0);
  });
});

// Only PostgreSQL has other processes whose changes arrive while a read is under way.
describe.skipIf(!postgresUrl)("check-in cache warm-up (postgres, another process)", () => {
  it("keeps no device changed while its chunk was read", async () => {
    // in key order: the second chunk of 100 holds the 101st to 200th
    const [victim, neighbour] = Array.from({ length: 250 }, (_, i) => `d${i}`)
      .sort()
      .slice(150, 152) as [string, string];
    const { cache } = await fleet("postgres", (db, other) => {
      // While the second chunk is on its way, another process revokes a device of it.
      let chunks = 0;
      const plugin: KyselyPlugin = {
        transformQuery: (args) => args.node,
        transformResult: async (args) => {
          if (++chunks === 2) {
            await other.kysely
              .updateTable("devices")
              .set({ status: "revoked" })
              .where("id", "=", victim)
              .execute();
            await db.changes.barrier();
          }
          return args.result;
        },
      };
      return { cache: new CheckinCache(db.kysely.withPlugin(plugin), db.changes), counted: { n: 0 } };
    });
    await cache.warmUp({ chunk: 100 });
    expect(cache.deviceCount).toBe(249);
    expect((await cache.deviceByToken(hashToken(victim)))?.status).toBe("revoked");
    expect((await cache.deviceByToken(hashToken(neighbour)))?.status).toBe("active");
  });
});

/** Cache that counts its reads. */
function cacheOf(db: Db) {
  const { counted, plugin } = counter();
  return { cache: new CheckinCache(db.kysely.withPlugin(plugin), db.changes), counted };
}

/** 250 devices d0…d249 (token: the id); `other` is another process on PostgreSQL. */
async function fleet(
  dialect: Dialect,
  makeCache: (db: Db, other: Db) => { cache: CheckinCache; counted: { n: number } },
) {
  const { db, other, now } = await projectDatabase(dialect);
  const ids = Array.from({ length: 250 }, (_, i) => `d${i}`);
  await db.kysely
    .insertInto("devices")
    .values(
      ids.map((id) => ({
        project: "p",
        id,
        token_hash: hashToken(id),
        status: "active",
        tags: "[]",
        created_at: now,
      })),
    )
    .execute();
  await db.changes.barrier();
  return { db, ...makeCache(db, other) };
}
