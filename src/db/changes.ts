/**
 * Change notices for the caches of what a check-in reads. The database itself announces every
 * change of a device's credentials, a channel, a rollout or a tag pin, whoever makes it: on SQLite by
 * temporary triggers of this connection that call into this process (one process owns the file), on
 * PostgreSQL by triggers that `pg_notify` on commit, heard by every server process on a connection of
 * its own that LISTENs. A process that loses that connection resets its caches and reports itself not
 * live until it has listened again; caches bypass themselves while not live.
 *
 * Keys: `d<token hash>` (a device), `c<project>/<channel>` (a channel and its rollout), `t<project>`
 * (the project's tag pins). Names never contain "/".
 */
import { randomUUID } from "node:crypto";
import type BetterSqlite3 from "better-sqlite3";
import { type Kysely, type Migration, PostgresAdapter, sql } from "kysely";
import pg from "pg";

export interface ChangeListener {
  changed(key: string): void;
  /** Every cached thing is void (the notices may have gaps). */
  reset(): void;
}

export interface ChangeFeed {
  /** Whether notices arrive now; when not, nothing cached may be trusted. */
  readonly live: boolean;
  subscribe(listener: ChangeListener): void;
  /** Resolves once every change committed before the call has reached this process's listeners. */
  barrier(): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL = "mpota_changes";

interface Source {
  table: string;
  /** The key of a row, as SQL over `row` (OLD or NEW). */
  key(row: string): string;
  /** Columns whose update matters (all when absent). */
  columns?: string[];
  /** Whether an inserted row matters (a device nobody has asked for yet cannot be cached). */
  inserts: boolean;
}

const SOURCES: Source[] = [
  {
    table: "devices",
    key: (row) => `'d' || ${row}.token_hash`,
    columns: ["token_hash", "status", "tags", "pin", "project", "id"],
    inserts: false,
  },
  { table: "channels", key: (row) => `'c' || ${row}.project || '/' || ${row}.name`, inserts: true },
  { table: "rollouts", key: (row) => `'c' || ${row}.project || '/' || ${row}.channel`, inserts: true },
  { table: "tag_pins", key: (row) => `'t' || ${row}.project`, inserts: true },
];

function events(source: Source): string {
  const update = source.columns ? `update of ${source.columns.join(", ")}` : "update";
  return [...(source.inserts ? ["insert"] : []), update, "delete"].join(" or ");
}

/** The PostgreSQL triggers (a migration; nothing on SQLite, whose triggers are per connection). */
export const changeNoticeTriggers: Migration = {
  async up(db: Kysely<unknown>) {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    for (const source of SOURCES) {
      await sql
        .raw(`create or replace function mpota_${source.table}_changed() returns trigger language plpgsql as $$
        begin
          if tg_op <> 'INSERT' then perform pg_notify('${CHANNEL}', ${source.key("old")}); end if;
          if tg_op <> 'DELETE' then perform pg_notify('${CHANNEL}', ${source.key("new")}); end if;
          return null;
        end $$`)
        .execute(db);
      await sql
        .raw(`create trigger ${source.table}_changed after ${events(source)} on ${source.table}
          for each row execute function mpota_${source.table}_changed()`)
        .execute(db);
    }
  },
};

class Listeners {
  private readonly all: ChangeListener[] = [];
  add(listener: ChangeListener): void {
    this.all.push(listener);
  }
  changed(key: string): void {
    for (const l of this.all) l.changed(key);
  }
  reset(): void {
    for (const l of this.all) l.reset();
  }
}

/** SQLite: this connection's own writes are the only ones (one process per file), heard synchronously. */
export function sqliteChanges(sqlite: BetterSqlite3.Database): ChangeFeed {
  const listeners = new Listeners();
  sqlite.function("mpota_changed", { deterministic: false, varargs: false }, (key: unknown) => {
    listeners.changed(String(key));
    return null;
  });
  for (const s of SOURCES) {
    const name = (op: string) => `mpota_${s.table}_changed_${op}`;
    const columns = s.columns ? ` of ${s.columns.join(", ")}` : "";
    if (s.inserts)
      sqlite.exec(`create temp trigger if not exists ${name("insert")} after insert on ${s.table}
        begin select mpota_changed(${s.key("new")}); end`);
    sqlite.exec(`create temp trigger if not exists ${name("update")} after update${columns} on ${s.table}
      begin select mpota_changed(${s.key("old")}); select mpota_changed(${s.key("new")}); end`);
    sqlite.exec(`create temp trigger if not exists ${name("delete")} after delete on ${s.table}
      begin select mpota_changed(${s.key("old")}); end`);
  }
  return {
    live: true,
    subscribe: (listener) => listeners.add(listener),
    barrier: async () => {},
    close: async () => {},
  };
}

/** How long a barrier waits for its own notice before the listening connection counts as lost. */
const BARRIER_TIMEOUT_MS = 2000;
const RECONNECT_MS = 500;

/** PostgreSQL: LISTEN on a connection of its own; reconnects after a loss, resetting the caches. */
export class PostgresChanges implements ChangeFeed {
  live = false;
  private readonly listeners = new Listeners();
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly barriers = new Map<string, () => void>();

  constructor(
    private readonly url: string,
    private readonly kysely: Kysely<unknown>,
  ) {}

  subscribe(listener: ChangeListener): void {
    this.listeners.add(listener);
  }

  /** Listens; a failure leaves the feed not live and retries in the background. */
  async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    client.on("notification", (n) => this.notice(n.payload ?? ""));
    this.client = client;
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
    } catch {
      this.lost(client);
      return;
    }
    if (this.client !== client) return;
    // Whatever changed while nobody listened is unknown: start empty.
    this.listeners.reset();
    this.live = true;
  }

  private notice(payload: string): void {
    if (payload.startsWith("!")) {
      this.barriers.get(payload.slice(1))?.();
      return;
    }
    this.listeners.changed(payload);
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.live = false;
    this.listeners.reset();
    for (const done of this.barriers.values()) done();
    client.end().catch(() => {});
    if (!this.closed) {
      this.retry = setTimeout(() => void this.connect(), RECONNECT_MS);
      this.retry.unref();
    }
  }

  /** Test and bench hook: as if the listening connection broke. */
  dropConnection(): void {
    if (this.client) this.lost(this.client);
  }

  async barrier(): Promise<void> {
    const client = this.client;
    if (!this.live || !client) return;
    const nonce = randomUUID();
    // Notices of separate transactions arrive in commit order: once ours is heard, so are all before it.
    const heard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), BARRIER_TIMEOUT_MS);
      this.barriers.set(nonce, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    await sql`select pg_notify(${CHANNEL}, ${`!${nonce}`})`.execute(this.kysely);
    const ok = await heard;
    this.barriers.delete(nonce);
    if (!ok) this.lost(client);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.live = false;
    await client?.end().catch(() => {});
  }
}
