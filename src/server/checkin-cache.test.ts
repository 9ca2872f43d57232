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

/** A project with a device, a channel in a rollout and a tag pin; a cache that counts its reads. */
async function setup(dialect: Dialect) {
  testDb = await createTestDatabase(dialect);
  const db = await openDatabase(testDb.url);
  opened.push(db);
  // another server process on the same PostgreSQL; SQLite has one process, so the same connection
  const other = dialect === "postgres" ? await openDatabase(testDb.url) : db;
  if (other !== db) opened.push(other);
  const now = Date.now();
  await db.kysely.insertInto("projects").values({ name: "p", auto_accept: 1, created_at: now }).execute();
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
