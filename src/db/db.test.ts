import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, testDialects } from "../../testing/db.ts";
import { databaseUrlProblem, maskPassword, openDatabase } from "./open.ts";

describe.each(testDialects)("database (%s)", (dialect) => {
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await testDb?.drop();
    testDb = undefined;
  });

  it("creates the schema once and opens again without re-running migrations", async () => {
    testDb = await createTestDatabase(dialect);
    const first = await openDatabase(testDb.url);
    expect(first.dialect).toBe(dialect);
    await first.kysely
      .insertInto("projects")
      .values({ name: "greenhouse", auto_accept: 1, enrol_token_hash: null, created_at: 1_700_000_000_000 })
      .execute();
    await first.close();
    const second = await openDatabase(testDb.url);
    const rows = await second.kysely.selectFrom("projects").selectAll().execute();
    // bigint columns come back as numbers on both dialects
    expect(rows).toEqual([
      { name: "greenhouse", auto_accept: 1, enrol_token_hash: null, created_at: 1_700_000_000_000 },
    ]);
    await second.close();
  });

  it("two connections migrating at once leave one schema", async () => {
    testDb = await createTestDatabase(dialect);
    const [a, b] = await Promise.all([openDatabase(testDb.url), openDatabase(testDb.url)]);
    await a.kysely
      .insertInto("projects")
      .values({ name: "p", auto_accept: 0, enrol_token_hash: null, created_at: 1 })
      .execute();
    expect(await b.kysely.selectFrom("projects").select("name").execute()).toEqual([{ name: "p" }]);
    await Promise.all([a.close(), b.close()]);
  });

  it("enforces the unique device token and the composite keys", async () => {
    testDb = await createTestDatabase(dialect);
    const db = await openDatabase(testDb.url);
    await db.kysely
      .insertInto("projects")
      .values({ name: "p", auto_accept: 0, enrol_token_hash: null, created_at: 1 })
      .execute();
    const device = {
      project: "p",
      id: "d1",
      token_hash: "h",
      status: "active" as const,
      tags: "[]",
      created_at: 1,
    };
    await db.kysely.insertInto("devices").values(device).execute();
    await expect(
      db.kysely
        .insertInto("devices")
        .values({ ...device, id: "d2" })
        .execute(),
    ).rejects.toThrow(/unique|duplicate/i);
    await db.close();
  });
});

describe.skipIf(!testDialects.includes("postgres"))(
  "a PostgreSQL database dropped under an open server",
  () => {
    it("costs the next query, never the process (no unhandled 57P01 from an idle pool client)", async () => {
      const testDb = await createTestDatabase("postgres");
      const db = await openDatabase(testDb.url);
      await db.kysely.selectFrom("projects").selectAll().execute(); // leaves an idle client in the pool
      await testDb.drop(); // WITH (FORCE): the server terminates that client (57P01)
      await new Promise((settle) => setTimeout(settle, 200));
      await expect(db.kysely.selectFrom("projects").selectAll().execute()).rejects.toThrow(
        /does not exist|terminat/,
      );
      await db.close();
    });
  },
);

describe("openDatabase errors", () => {
  it("says a refused PostgreSQL connection is a connection failure, password masked", async () => {
    const opening = openDatabase("postgres://nobody:x@127.0.0.1:1/none");
    await expect(opening).rejects.toThrow(
      /^cannot connect to PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: .*ECONNREFUSED.*; is the server running/,
    );
  });

  it("refuses what is neither a path, sqlite: nor postgres:// instead of making a file of it", async () => {
    for (const url of ["postgres:/oops", "mysql://root@127.0.0.1/db", "postgresql:oops", "http://x/db"]) {
      expect(databaseUrlProblem(url), url).toMatch(/: not a database mpota can use.*give a SQLite file path/);
      await expect(openDatabase(url)).rejects.toThrow("not a database mpota can use");
    }
    expect(databaseUrlProblem("postgres:/oops")).toContain("did you mean postgres://");
    for (const url of ["data/mpota.db", "/tmp/x.db", "sqlite:/tmp/x.db", ":memory:", "postgresql://h/db"])
      expect(databaseUrlProblem(url), url).toBeUndefined();
  });
});

describe("maskPassword", () => {
  it("hides the password of a database URL and leaves the rest", () => {
    expect(maskPassword("postgres://mpota:s3cret@127.0.0.1:5432/mpota")).toBe(
      "postgres://mpota:***@127.0.0.1:5432/mpota",
    );
    expect(maskPassword("postgres://127.0.0.1:5432/mpota")).toBe("postgres://127.0.0.1:5432/mpota");
    expect(maskPassword("sqlite:/data/mpota.db")).toBe("sqlite:/data/mpota.db");
  });
});
