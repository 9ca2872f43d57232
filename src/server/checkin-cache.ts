/**
 * What a check-in reads, kept in this process: device by token, channel with its rollout, a project's
 * tag pins. The database announces every change of these (src/db/changes.ts), from this process, any
 * other server process or plain SQL, and each announced entry is dropped here; while the announcements
 * are not coming (a lost listening connection) every read goes to the database. A read that was in
 * flight when something changed is not kept (it may predate the change).
 */

import type { Kysely } from "kysely";
import type { ChangeFeed } from "../db/changes.ts";
import type { Database, Device } from "../db/index.ts";
import { parseSteps } from "./rollouts/engine.ts";
import type { ChannelRoute } from "./rollouts/policy.ts";

/** Devices kept at most (a fleet past this is read from the database on a miss, as without a cache). */
const MAX_DEVICES = 200_000;
const MAX_ENTRIES = 10_000;

interface TagPin {
  tag: string;
  version: string;
}

export class CheckinCache {
  private readonly devices = new Map<string, Device | undefined>();
  private readonly routes = new Map<string, ChannelRoute | undefined>();
  private readonly tagPins = new Map<string, TagPin[]>();
  private deviceBatch:
    | {
        waiting: Map<string, Array<(device: Device | undefined) => void>>;
        failed: Array<(err: unknown) => void>;
      }
    | undefined;
  /** Counts announcements: a read that saw it move while in flight is not kept. */
  private generation = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly changes: ChangeFeed,
  ) {
    changes.subscribe({
      changed: (key) => {
        this.generation++;
        const rest = key.slice(1);
        if (key[0] === "d") this.devices.delete(rest);
        else if (key[0] === "c") this.routes.delete(rest);
        else if (key[0] === "t") this.tagPins.delete(rest);
      },
      reset: () => {
        this.generation++;
        this.devices.clear();
        this.routes.clear();
        this.tagPins.clear();
      },
    });
  }

  /** `read` through `map`; a missing device is not kept (new devices are not announced). */
  private async through<T>(
    map: Map<string, T>,
    key: string,
    max: number,
    read: () => Promise<T>,
  ): Promise<T> {
    if (!this.changes.live) return read();
    if (map.has(key)) return map.get(key) as T;
    const generation = this.generation;
    const value = await read();
    const keep = value !== undefined || map !== this.devices;
    if (keep && generation === this.generation && this.changes.live) {
      if (map.size >= max) map.clear();
      map.set(key, value);
    }
    return value;
  }

  /**
   * The device whose token has this hash. The object is shared by the check-ins of that device: they
   * update what it runs on it, which only check-ins write.
   */
  deviceByToken(tokenHash: string): Promise<Device | undefined> {
    return this.through(this.devices, tokenHash, MAX_DEVICES, () => this.loadDevice(tokenHash));
  }

  /**
   * A fleet checks in from many devices at once, mostly ones not cached: the lookups of one turn of
   * the event loop go to the database as one query (one round trip for many check-ins).
   */
  private loadDevice(tokenHash: string): Promise<Device | undefined> {
    let batch = this.deviceBatch;
    if (!batch) {
      const waiting = new Map<string, Array<(device: Device | undefined) => void>>();
      const failed: Array<(err: unknown) => void> = [];
      const current = { waiting, failed };
      batch = this.deviceBatch = current;
      setImmediate(() => {
        if (this.deviceBatch === current) this.deviceBatch = undefined;
        this.db
          .selectFrom("devices")
          .selectAll()
          .where("token_hash", "in", [...waiting.keys()])
          .execute()
          .then((rows) => {
            const found = new Map(rows.map((row) => [row.token_hash, row]));
            for (const [hash, resolvers] of waiting) for (const done of resolvers) done(found.get(hash));
          })
          .catch((err) => {
            for (const fail of failed) fail(err);
          });
      });
    }
    const { waiting, failed } = batch;
    // well inside both databases' limit on query parameters
    if (waiting.size >= 1000) this.deviceBatch = undefined;
    return new Promise((done, fail) => {
      waiting.set(tokenHash, [...(waiting.get(tokenHash) ?? []), done]);
      failed.push(fail);
    });
  }

  route(project: string, channel: string): Promise<ChannelRoute | undefined> {
    return this.through(this.routes, `${project}/${channel}`, MAX_ENTRIES, async () => {
      const row = await this.db
        .selectFrom("channels as c")
        .leftJoin("rollouts as r", "r.id", "c.rollout_id")
        .select(["c.version", "r.id", "r.from_version", "r.to_version", "r.steps", "r.step", "r.state"])
        .where("c.project", "=", project)
        .where("c.name", "=", channel)
        .executeTakeFirst();
      if (!row) return undefined;
      if (!row.id || (row.state !== "running" && row.state !== "paused"))
        return { version: row.version, rollout: null };
      return {
        version: row.version,
        rollout: {
          id: row.id,
          fromVersion: row.from_version,
          toVersion: row.to_version!,
          percent: parseSteps({ steps: row.steps! })[row.step!] ?? 100,
          state: row.state,
        },
      };
    });
  }

  /** The version pinned on the first (by name) of `tags` that has a pin, if any. */
  async tagPin(project: string, tags: string): Promise<string | null> {
    if (tags === "[]") return null;
    const pins = await this.through(this.tagPins, project, MAX_ENTRIES, () =>
      this.db
        .selectFrom("tag_pins")
        .select(["tag", "version"])
        .where("project", "=", project)
        .orderBy("tag")
        .execute(),
    );
    const list = new Set(JSON.parse(tags) as string[]);
    return pins.find((p) => list.has(p.tag))?.version ?? null;
  }
}
