/**
 * The server's tables as Kysely types. Times are integer milliseconds since the epoch, booleans are
 * 0/1 integers and lists are JSON text, so one set of migrations serves SQLite and PostgreSQL alike.
 */
import type { Insertable, Selectable, Updateable } from "kysely";

export interface ProjectTable {
  name: string;
  /** 1: an enrolling device is accepted at once; 0: it waits as "pending" for an admin. */
  auto_accept: number;
  /** SHA-256 (hex) of the project's enrolment token; null: enrolment is closed. */
  enrol_token_hash: string | null;
  created_at: number;
}

export interface KeyTable {
  project: string;
  keyid: string;
  /** Raw Ed25519 public key, 64 lowercase hex chars. */
  public_key: string;
  created_at: number;
}

export interface ReleaseTable {
  project: string;
  version: string;
  /** SHA-256 and byte size of the stored envelope file (what a channel pointer names). */
  sha256: string;
  size: number;
  files: number;
  rollback: number;
  created_at: number;
}

export interface ChannelTable {
  project: string;
  name: string;
  version: string | null;
  /** The rollout in progress on this channel (running or paused), if any. */
  rollout_id: string | null;
  updated_at: number;
}

export type RolloutState = "running" | "paused" | "aborted" | "completed";

export interface RolloutTable {
  id: string;
  project: string;
  channel: string;
  from_version: string | null;
  to_version: string;
  /** JSON array of percentages, ascending, ending at 100. */
  steps: string;
  step: number;
  min_wait_ms: number;
  /** Pause when failed + rolled-back devices pass this percentage of the devices that reported. */
  failure_percent: number;
  /** ...and at least this many devices failed. */
  min_failures: number;
  state: RolloutState;
  reason: string | null;
  step_started_at: number;
  created_at: number;
  updated_at: number;
}

export type DeviceStatus = "pending" | "active" | "revoked";

export interface DeviceTable {
  project: string;
  id: string;
  token_hash: string;
  status: DeviceStatus;
  /** JSON array of tag strings. */
  tags: string;
  pin: string | null;
  /** What the device said at its last check-in (written in batches, not on every check-in). */
  version: string | null;
  state: string | null;
  failed: string | null;
  last_seen: number | null;
  created_at: number;
}

export interface TagPinTable {
  project: string;
  tag: string;
  version: string;
}

export type DeviceEvent = "downloading" | "installed" | "trial" | "confirmed" | "rolled_back" | "failed";

export interface EventTable {
  project: string;
  device_id: string;
  version: string;
  event: DeviceEvent;
  error: string | null;
  rollout_id: string | null;
  at: number;
}

/** A device a rollout offered its new release to (first time, per rollout). */
export interface RolloutOfferTable {
  rollout_id: string;
  device_id: string;
  at: number;
}

export type AdminRole = "admin" | "read-only";

export interface AdminTokenTable {
  id: string;
  name: string;
  role: AdminRole;
  token_hash: string;
  created_at: number;
}

export interface AuditTable {
  id: string;
  at: number;
  actor: string;
  action: string;
  project: string | null;
  target: string | null;
  /** JSON object with the change's details (never a secret). */
  detail: string;
}

/** A dashboard sign-in: an httpOnly cookie whose SHA-256 is `id_hash`, acting as admin token `token_id`. */
export interface SessionTable {
  id_hash: string;
  token_id: string;
  /** What the browser sends back in X-Mpota-CSRF on every write. */
  csrf: string;
  created_at: number;
  expires_at: number;
}

/** Check-ins served per project and minute (`minute`: ms at the minute's start), for the fleet charts. */
export interface CheckinCountTable {
  project: string;
  minute: number;
  n: number;
}

export interface Database {
  projects: ProjectTable;
  keys: KeyTable;
  releases: ReleaseTable;
  channels: ChannelTable;
  rollouts: RolloutTable;
  devices: DeviceTable;
  tag_pins: TagPinTable;
  events: EventTable;
  rollout_offers: RolloutOfferTable;
  admin_tokens: AdminTokenTable;
  audit: AuditTable;
  sessions: SessionTable;
  checkin_counts: CheckinCountTable;
}

export type Project = Selectable<ProjectTable>;
export type Release = Selectable<ReleaseTable>;
export type Channel = Selectable<ChannelTable>;
export type Rollout = Selectable<RolloutTable>;
export type NewRollout = Insertable<RolloutTable>;
export type RolloutUpdate = Updateable<RolloutTable>;
export type Device = Selectable<DeviceTable>;
export type AuditEntry = Selectable<AuditTable>;
