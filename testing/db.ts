/**
 * Databases for tests: a fresh SQLite file or a fresh PostgreSQL database per call.
 * PostgreSQL comes from MPOTA_TEST_PG, else the cluster `.ci/postgres.sh` sets up (started on demand
 * when we are root and the Debian package is installed). Without one, the PostgreSQL half of a suite
 * is left out locally, but with CI=true a missing PostgreSQL is an error.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { type Db, type Dialect, maskPassword, openDatabase } from "../src/db/open.ts";

const POSTGRES_SH = resolve(import.meta.dirname, "../.ci/postgres.sh");
const WELL_KNOWN = "postgres://mpota:mpota@127.0.0.1:5432/mpota_test";

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function debianPostgresInstalled(): boolean {
  return existsSync("/usr/lib/postgresql") && readdirSync("/usr/lib/postgresql").length > 0;
}

async function findPostgres(): Promise<string | undefined> {
  const fromEnv = process.env.MPOTA_TEST_PG;
  if (fromEnv) {
    if (await reachable(fromEnv)) return fromEnv;
    throw new Error(`MPOTA_TEST_PG=${maskPassword(fromEnv)} is not reachable`);
  }
  if (await reachable(WELL_KNOWN)) return WELL_KNOWN;
  if (process.getuid?.() === 0 && debianPostgresInstalled()) {
    execFileSync(POSTGRES_SH, ["start"], { stdio: "ignore" });
    if (await reachable(WELL_KNOWN)) return WELL_KNOWN;
  }
  if (process.env.CI) {
    throw new Error("CI=true but no PostgreSQL: set MPOTA_TEST_PG or run .ci/postgres.sh install");
  }
  return undefined;
}

/** The base PostgreSQL URL for tests, or undefined (outside CI) when there is none. */
export const postgresUrl: string | undefined = await findPostgres();

/** The dialects a suite runs against: SQLite always, PostgreSQL when there is one. */
export const testDialects: Dialect[] = postgresUrl ? ["sqlite", "postgres"] : ["sqlite"];

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database of the given dialect. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "mpota-db-"));
    return { url: join(dir, "test.db"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (!postgresUrl) throw new Error("no PostgreSQL for tests");
  const name = `mpota_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        // A closed pool's sessions end a moment after pool.end() resolves: FORCE would terminate
        // them mid-goodbye, and the FATAL would reach a client nobody listens to any more.
        for (let i = 0; i < 100; i++) {
          const { rows } = await client.query(
            "select count(*)::int as n from pg_stat_activity where datname = $1",
            [name],
          );
          if (rows[0].n === 0) break;
          await new Promise((done) => setTimeout(done, 20));
        }
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface OpenTestDatabase {
  kysely: Db["kysely"];
  /** Closes the database and drops it. */
  close(): Promise<void>;
}

/** A new database of the given dialect, opened with its schema in place (for tests of queries). */
export async function openTestDatabase(dialect: Dialect): Promise<OpenTestDatabase> {
  const testDb = await createTestDatabase(dialect);
  const db = await openDatabase(testDb.url).catch(async (err) => {
    await testDb.drop();
    throw err;
  });
  return {
    kysely: db.kysely,
    close: async () => {
      await db.close();
      await testDb.drop();
    },
  };
}
