/**
 * What the dashboard's live updates come from. Changes can be made by any server process sharing the
 * database (check-ins, device reports, rollout steps, admin writes), so while anyone listens, each
 * process asks the database once a second for a few marks (the latest check-in, device event,
 * rollout change and audit entry: indexed max() lookups) and tells its listeners which of them moved.
 * One query per process per second, whatever the number of devices or listeners.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/index.ts";
import type { LiveTopic } from "./api-schemas.ts";

export interface LiveListener {
  change(topics: LiveTopic[]): void;
  /** The server is closing. */
  close(): void;
}

type Marks = Record<LiveTopic, string>;

export class LiveFeed {
  private readonly listeners = new Set<LiveListener>();
  private marks: Marks | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Adds a listener; the returned function removes it. The feed polls only while it has listeners. */
  listen(listener: LiveListener): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.marks = undefined;
      }
    };
  }

  /** Ends every listener (server shutdown). */
  close(): void {
    for (const listener of [...this.listeners]) listener.close();
    this.listeners.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const marks = await this.read();
      const before = this.marks;
      this.marks = marks;
      if (!before) return;
      const moved = (Object.keys(marks) as LiveTopic[]).filter((topic) => marks[topic] !== before[topic]);
      if (moved.length > 0) for (const listener of this.listeners) listener.change(moved);
    } catch (err) {
      this.onError(err);
    } finally {
      this.polling = false;
    }
  }

  private async read(): Promise<Marks> {
    const { rows } = await sql<Record<LiveTopic, unknown>>`select
        (select max(last_seen) from devices) as devices,
        (select max(at) from events) as events,
        (select max(updated_at) from rollouts) as rollouts,
        (select max(at) from audit) as audit`.execute(this.db);
    const row = rows[0]!;
    return {
      devices: String(row.devices),
      events: String(row.events),
      rollouts: String(row.rollouts),
      audit: String(row.audit),
    };
  }
}
