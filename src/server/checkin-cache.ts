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

/** What a check-in needs of a device: what the cache keeps of each, a whole fleet in each node. */
export type CachedDevice = Pick<
  Device,
  "project" | "id" | "token_hash" | "status" | "tags" | "pin" | "version" | "state" | "failed"
>;
const DEVICE_COLUMNS = [
  "project",
  "id",
  "token_hash",
  "status",
  "tags",
  "pin",
  "version",
  "state",
  "failed",
] as const;

/**
 * Devices kept at most (the devices past this are read from the database on each check-in, as
 * without a cache). A cached device is three small heap objects, its repeated strings (project,
 * version, tags…) shared: about 240 MB of heap for 1,000,000.
 */
const MAX_DEVICES = 1_000_000;
/** Distinct strings shared between cached devices at most (versions, tag lists, projects…). */
const MAX_SHARED_STRINGS = 10_000;
const MAX_ENTRIES = 10_000;
/** Devices read per query while warming up. */
const WARM_UP_CHUNK = 10_000;

interface TagPin {
  tag: string;
  version: string;
}

export class CheckinCache {
  private readonly devices = new Map<string, CachedDevice | undefined>();
  private readonly routes = new Map<string, ChannelRoute | undefined>();
  private readonly tagPins = new Map<string, TagPin[]>();
  private deviceBatch:
    | {
        waiting: Map<string, Array<(device: CachedDevice | undefined) => void>>;
        failed: Array<(err: unknown) => void>;
      }
    | undefined;
  /** Counts announcements: a read that saw it move while in flight is not kept. */
  private generation = 0;
  /** Counts resets (a warm-up that saw one stops). */
  private resets = 0;
  /** Token hashes of devices announced while a warm-up chunk is being read. */
  private announcedDevices: Set<string> | undefined;
  /** Whether the warm-up has read every device in (or stopped at the cache's size). */
  warm = false;
  private readonly shared = new Map<string, string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly changes: ChangeFeed,
  ) {
    changes.subscribe({
      changed: (key) => {
        this.generation++;
        const rest = key.slice(1);
        if (key[0] === "d") {
          this.devices.delete(rest);
          this.announcedDevices?.add(rest);
        } else if (key[0] === "c") this.routes.delete(rest);
        else if (key[0] === "t") this.tagPins.delete(rest);
      },
      reset: () => {
        this.generation++;
        this.resets++;
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
      // the oldest entry makes room: a cache one entry short of the fleet still serves the rest
      if (map.size >= max) map.delete(map.keys().next().value!);
      map.set(key, value);
    }
    return value;
  }

  /** `value`, as the one instance of it the cached devices share. */
  private share<T extends string | null>(value: T): T {
    if (value === null) return value;
    const known = this.shared.get(value);
    if (known !== undefined) return known as T;
    if (this.shared.size < MAX_SHARED_STRINGS) this.shared.set(value, value);
    return value;
  }

  /** The cache's own small copy of a device row (a GC marking a fleet of them marks little). */
  private keep(row: CachedDevice): CachedDevice {
    return {
      project: this.share(row.project),
      id: row.id,
      token_hash: row.token_hash,
      status: this.share(row.status),
      tags: this.share(row.tags),
      pin: this.share(row.pin),
      version: this.share(row.version),
      state: this.share(row.state),
      failed: this.share(row.failed),
    };
  }

  /** Devices cached now. */
  get deviceCount(): number {
    return this.devices.size;
  }

  /**
   * Reads every device in (as many as the cache keeps), a chunk at a time in key order. A device
   * announced while its chunk was read, or cached meanwhile by a check-in (which may have changed
   * what it runs), is left alone; lost notices or `signal` stop the warm-up (`warm` stays false).
   */
  async warmUp({
    signal,
    chunk = WARM_UP_CHUNK,
  }: {
    signal?: AbortSignal;
    chunk?: number;
  } = {}): Promise<void> {
    const resets = this.resets;
    let after: { project: string; id: string } | undefined;
    for (;;) {
      if (!this.changes.live || resets !== this.resets || signal?.aborted) return;
      if (this.devices.size >= MAX_DEVICES) break;
      const announced = new Set<string>();
      this.announcedDevices = announced;
      const start = after;
      const rows = await this.db
        .selectFrom("devices")
        .select(DEVICE_COLUMNS)
        .$if(start !== undefined, (q) =>
          q.where((eb) => eb(eb.refTuple("project", "id"), ">", eb.tuple(start!.project, start!.id))),
        )
        .orderBy("project")
        .orderBy("id")
        .limit(chunk)
        .execute()
        .finally(() => {
          if (this.announcedDevices === announced) this.announcedDevices = undefined;
        });
      if (!this.changes.live || resets !== this.resets) return;
      for (const row of rows) {
        if (this.devices.size >= MAX_DEVICES) break;
        if (!announced.has(row.token_hash) && !this.devices.has(row.token_hash))
          this.devices.set(row.token_hash, this.keep(row));
      }
      if (rows.length < chunk) break;
      after = rows[rows.length - 1];
    }
    this.warm = true;
  }

  /**
   * The device whose token has this hash. The object is shared by the check-ins of that device: they
   * update what it runs on it, which only check-ins write.
   */
  deviceByToken(tokenHash: string): Promise<CachedDevice | undefined> {
    return this.through(this.devices, tokenHash, MAX_DEVICES, () => this.loadDevice(tokenHash));
  }

  /**
   * A fleet checks in from many devices at once, mostly ones not cached: the lookups of one turn of
   * the event loop go to the database as one query (one round trip for many check-ins).
   */
  private loadDevice(tokenHash: string): Promise<CachedDevice | undefined> {
    let batch = this.deviceBatch;
    if (!batch) {
      const waiting = new Map<string, Array<(device: CachedDevice | undefined) => void>>();
      const failed: Array<(err: unknown) => void> = [];
      const current = { waiting, failed };
      batch = this.deviceBatch = current;
      setImmediate(() => {
        if (this.deviceBatch === current) this.deviceBatch = undefined;
        this.db
          .selectFrom("devices")
          .select(DEVICE_COLUMNS)
          .where("token_hash", "in", [...waiting.keys()])
          .execute()
          .then((rows) => {
            const found = new Map(rows.map((row) => [row.token_hash, this.keep(row)]));
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
