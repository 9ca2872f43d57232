/**
 * Opens the server's database from a URL and brings its schema up to date:
 * `postgres://…` / `postgresql://…` → PostgreSQL (pg pool); `sqlite:PATH`, a plain path or
 * `:memory:` → a SQLite file. Anything else (`mysql://…`, `postgres:/typo`) is refused rather than
 * taken for a file name.
 */
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { makeFolder } from "../store/index.ts";
import { type ChangeFeed, PostgresChanges, sqliteChanges } from "./changes.ts";
import { migrationProvider } from "./migrations.ts";
import type { Database } from "./schema.ts";

export type Dialect = "sqlite" | "postgres";

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** The URL with any password masked: safe to print. */
  label: string;
  /** Notices of changes to what check-ins read (for the caches of every server process). */
  changes: ChangeFeed;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** `url` with any password masked: safe to print. */
export function maskPassword(url: string): string {
  return url.replace(/:[^:@/]*@/, ":***@");
}

/** Why `url` names no database mpota can open, or undefined when it does. */
export function databaseUrlProblem(url: string): string | undefined {
  if (isPostgresUrl(url) || /^sqlite:/i.test(url) || url === ":memory:") return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  if (scheme === undefined && url !== "") return undefined;
  const hint = /^postgres/i.test(url) ? " (did you mean postgres://user:pass@host/db?)" : "";
  return (
    `${maskPassword(url) || '""'}: not a database mpota can use${hint}; ` +
    "give a SQLite file path, sqlite:PATH, or postgres://user:pass@host/db"
  );
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Db> {
  const problem = databaseUrlProblem(url);
  if (problem) throw new Error(problem);
  const { db, listen } = isPostgresUrl(url) ? await openPostgres(url, options) : openSqlite(url);
  try {
    await migrate(db.kysely, db.dialect === "sqlite" ? 20 : 0);
    // after the migrations: the notices are about their tables
    await listen();
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/** A database just opened: `listen` starts its change notices once the schema is there. */
interface Opening {
  db: Db;
  listen(): Promise<void>;
}

/** Until `listen`: no notices, so nothing may be cached. */
const NOT_LISTENING: ChangeFeed = {
  live: false,
  subscribe: () => {},
  barrier: async () => {},
  close: async () => {},
};

function openSqlite(url: string): Opening {
  const path = url.replace(/^sqlite:(\/\/)?/i, "");
  if (path !== ":memory:") makeFolder(dirname(path));
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  // Table statistics let the planner pick the right index for a search of a big fleet (the SQLite
  // docs' advice for long-lived connections: at open, then now and then).
  sqlite.pragma("optimize = 0x10002");
  const optimizer = setInterval(() => sqlite.pragma("optimize"), 3_600_000);
  optimizer.unref();
  // Kysely prepares every query afresh; the hot paths repeat a handful of SQL texts, so keep them.
  const statements = new Map<string, BetterSqlite3.Statement>();
  const database = {
    close: () => {
      clearInterval(optimizer);
      sqlite.close();
    },
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size > 500) statements.clear();
        statement = sqlite.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  const db: Db = {
    kysely,
    dialect: "sqlite",
    label: `sqlite:${path}`,
    changes: NOT_LISTENING,
    close: () => kysely.destroy(),
  };
  return {
    db,
    listen: async () => {
      db.changes = sqliteChanges(sqlite);
    },
  };
}

async function openPostgres(url: string, options: OpenOptions): Promise<Opening> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // Every bigint column holds milliseconds or byte sizes, well inside 2^53: read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === 20 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client the server drops (a restart, a dropped database) must not crash the process:
  // the pool discards it and the next query connects afresh.
  pool.on("error", () => {});
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end();
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      `cannot connect to PostgreSQL at ${maskPassword(url)}: ${e.message || e.code}; ` +
        "is the server running and the URL (host, port, user, password, database) right?",
    );
  }
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const changes = new PostgresChanges(url, kysely as Kysely<unknown>);
  const db: Db = {
    kysely,
    dialect: "postgres",
    label: maskPassword(url),
    changes,
    close: async () => {
      await changes.close();
      await kysely.destroy();
    },
  };
  return { db, listen: () => changes.connect() };
}

/**
 * SQLite has no migration lock across connections: a second opener racing the first fails on
 * "already exists" and, once the first is done, finds the schema up to date; so it retries a little.
 */
async function migrate(kysely: Kysely<Database>, retries: number): Promise<void> {
  const migrator = new Migrator({ db: kysely, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error && retries > 0) {
    await new Promise((done) => setTimeout(done, 50));
    return migrate(kysely, retries - 1);
  }
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration${failed ? ` ${failed}` : ""} failed: ${reason}`);
  }
}
