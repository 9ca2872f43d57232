/** What every route plugin of one server shares: the database, the file store, the clock, the limits. */
import type { Db } from "../db/index.ts";
import type { CheckinBatcher } from "./checkins.ts";
import type { DeviceLoad } from "./overload.ts";
import type { FileStore } from "./store.ts";

export interface Limits {
  /** A device may check in at most once per this many ms (429 with Retry-After otherwise). */
  checkinIntervalMs: number;
  /** Device requests served at once before new ones get 503 with Retry-After. */
  maxConcurrent: number;
  /** Largest blob or patch upload, bytes. */
  maxBlobBytes: number;
  /** Largest envelope upload, bytes. */
  maxEnvelopeBytes: number;
}

export interface ServerContext {
  db: Db;
  store: FileStore;
  now: () => number;
  limits: Limits;
  checkins: CheckinBatcher;
  deviceLoad: DeviceLoad;
}
