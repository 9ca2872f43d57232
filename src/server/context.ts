/** What every route plugin of one server shares: the database, the file store, the clock, the limits. */
import type { Db } from "../db/index.ts";
import type { CheckinCache } from "./checkin-cache.ts";
import type { CheckinBatcher } from "./checkins.ts";
import type { FileStore } from "./file-store.ts";
import type { DeviceLoad } from "./overload.ts";

export interface Limits {
  /** A device may check in at most once per this many ms (429 with Retry-After otherwise). */
  checkinIntervalMs: number;
  /** Device requests served at once before new ones get 503 with Retry-After. */
  maxConcurrent: number;
  /** Largest blob or patch upload, bytes. */
  maxBlobBytes: number;
  /** Largest update pack upload, bytes (it is read whole to be checked). */
  maxPackBytes: number;
  /** Largest envelope upload, bytes. */
  maxEnvelopeBytes: number;
  /** Reports one device may send per minute (429 with Retry-After past it; 0: no limit). */
  reportsPerMinute: number;
  /** Enrolments with a right token per project and minute, taken or not (0: no limit). */
  enrolmentsPerMinute: number;
  /** Devices of a project waiting for approval before enrolment answers 429 (0: no limit). */
  maxPendingDevices: number;
  /** Device API answers 401 per client address and minute before it gets only 429 (0: no limit). */
  authFailuresPerMinute: number;
  /** Rows waiting for the database (check-ins, offers, reports, each) before device requests get 503. */
  maxQueuedWrites: number;
}

export interface ServerContext {
  db: Db;
  store: FileStore;
  now: () => number;
  limits: Limits;
  checkins: CheckinBatcher;
  /** What check-ins read, kept in agreement with the database by its change notices. */
  cache: CheckinCache;
  deviceLoad: DeviceLoad;
}
