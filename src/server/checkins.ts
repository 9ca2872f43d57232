/**
 * Check-ins are the hot path, so they do not write to the database one by one: what a device says
 * (version, state, failed version, time) is kept in memory and written for all devices at once every
 * flush interval. A change of what the device runs also becomes an event (trial / confirmed /
 * rolled_back), which is how a report the device lost is made good by its next check-in. The batch is
 * bounded: a check-in of a device not yet in it, past the limit, is answered 503 with Retry-After.
 * A stop (SIGTERM) writes it; a process killed outright loses at most one flush interval of it.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/index.ts";
import type { CachedDevice } from "./checkin-cache.ts";
import { HttpError } from "./errors.ts";
import { type EventInput, recordEvents } from "./rollouts/engine.ts";

export interface Seen {
  version: string | null;
  state: string | null;
  failed: string | null;
  at: number;
}

const CHUNK = 200;
/** Per-minute check-in counts are kept this long (the fleet page shows the last hour). */
const COUNTS_KEPT_MS = 24 * 3_600_000;

interface PendingRow extends Seen {
  project: string;
  id: string;
}

export class CheckinBatcher {
  private rows = new Map<string, PendingRow>();
  private events: EventInput[] = [];
  /** Check-ins per "project\nminute" since the last flush (the fleet page's chart). */
  private counts = new Map<string, number>();
  private countsPrunedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly intervalMs: number,
    private readonly max: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(this.onError), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /**
   * Keeps what the device says for the next flush, and sets it on `device` (the check-in cache's
   * object, so this process's next check-in of the device compares with it).
   */
  record(device: CachedDevice, seen: Seen): void {
    const key = `${device.project}\n${device.id}`;
    if ((this.rows.size >= this.max() || this.events.length >= this.max()) && !this.rows.has(key))
      throw new HttpError(503, "server busy writing check-ins; retry later", { "retry-after": "2" });
    this.rows.set(key, { project: device.project, id: device.id, ...seen });
    const minute = `${device.project}\n${seen.at - (seen.at % 60_000)}`;
    this.counts.set(minute, (this.counts.get(minute) ?? 0) + 1);
    const changed =
      seen.version !== device.version || seen.state !== device.state || seen.failed !== device.failed;
    if (!changed) return;
    const base = { project: device.project, deviceId: device.id, error: null, at: seen.at };
    if (seen.version && (seen.state === "trial" || seen.state === "good"))
      this.events.push({
        ...base,
        version: seen.version,
        event: seen.state === "trial" ? "trial" : "confirmed",
      });
    if (seen.failed && seen.failed !== device.failed)
      this.events.push({ ...base, version: seen.failed, event: "rolled_back" });
    device.version = seen.version;
    device.state = seen.state;
    device.failed = seen.failed;
  }

  /** Writes everything recorded so far; flushes run one after another. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    const rows = [...this.rows.values()];
    const events = this.events;
    const counts = this.counts;
    this.rows = new Map();
    this.events = [];
    this.counts = new Map();
    for (let i = 0; i < rows.length; i += CHUNK) {
      // SQLite writes synchronously: small chunks with a turn of the event loop between them keep
      // a flush from stalling the check-ins being served meanwhile.
      if (i > 0) await new Promise((done) => setImmediate(done));
      const values = sql.join(
        rows
          .slice(i, i + CHUNK)
          .map(
            (r) =>
              sql`(${r.project}, ${r.id}, ${r.version}, ${r.state}, ${r.failed}, cast(${r.at} as bigint))`,
          ),
      );
      await sql`with seen(project, id, version, state, failed, at) as (values ${values})
        update devices set version = seen.version, state = seen.state, failed = seen.failed, last_seen = seen.at
        from seen where devices.project = seen.project and devices.id = seen.id`.execute(this.db);
    }
    await recordEvents(this.db, events);
    let newest = 0;
    for (const [key, n] of counts) {
      const [project, minute] = key.split("\n") as [string, string];
      newest = Math.max(newest, Number(minute));
      await this.db
        .insertInto("checkin_counts")
        .values({ project, minute: Number(minute), n })
        .onConflict((oc) =>
          oc
            .columns(["project", "minute"])
            .doUpdateSet((eb) => ({ n: eb("checkin_counts.n", "+", eb.ref("excluded.n")) })),
        )
        .execute();
    }
    // by the check-ins' own clock, once an hour of it
    if (newest - this.countsPrunedAt > 3_600_000) {
      this.countsPrunedAt = newest;
      await this.db
        .deleteFrom("checkin_counts")
        .where("minute", "<", newest - COUNTS_KEPT_MS)
        .execute();
    }
  }
}
