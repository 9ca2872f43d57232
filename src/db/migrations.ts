/**
 * The schema's history. Every migration is written once and runs unchanged on SQLite and PostgreSQL:
 * only portable column types (text, integer, bigint), no autoincrement, no booleans, no JSON columns.
 */
import type { Kysely, Migration, MigrationProvider } from "kysely";
import { changeNoticeTriggers } from "./changes.ts";

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("projects")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("auto_accept", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("enrol_token_hash", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("keys")
      .addColumn("project", "text", (c) => c.notNull().references("projects.name").onDelete("cascade"))
      .addColumn("keyid", "text", (c) => c.notNull())
      .addColumn("public_key", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("keys_pk", ["project", "keyid"])
      .execute();
    await db.schema
      .createTable("releases")
      .addColumn("project", "text", (c) => c.notNull().references("projects.name").onDelete("cascade"))
      .addColumn("version", "text", (c) => c.notNull())
      .addColumn("sha256", "text", (c) => c.notNull())
      .addColumn("size", "bigint", (c) => c.notNull())
      .addColumn("files", "integer", (c) => c.notNull())
      .addColumn("rollback", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("releases_pk", ["project", "version"])
      .execute();
    await db.schema
      .createTable("channels")
      .addColumn("project", "text", (c) => c.notNull().references("projects.name").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("version", "text")
      .addColumn("rollout_id", "text")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("channels_pk", ["project", "name"])
      .execute();
    await db.schema
      .createTable("rollouts")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("project", "text", (c) => c.notNull().references("projects.name").onDelete("cascade"))
      .addColumn("channel", "text", (c) => c.notNull())
      .addColumn("from_version", "text")
      .addColumn("to_version", "text", (c) => c.notNull())
      .addColumn("steps", "text", (c) => c.notNull())
      .addColumn("step", "integer", (c) => c.notNull())
      .addColumn("min_wait_ms", "bigint", (c) => c.notNull())
      .addColumn("failure_percent", "integer", (c) => c.notNull())
      .addColumn("min_failures", "integer", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("reason", "text")
      .addColumn("step_started_at", "bigint", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("rollouts_project").on("rollouts").columns(["project", "state"]).execute();
    await db.schema
      .createTable("devices")
      .addColumn("project", "text", (c) => c.notNull().references("projects.name").onDelete("cascade"))
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("tags", "text", (c) => c.notNull().defaultTo("[]"))
      .addColumn("pin", "text")
      .addColumn("version", "text")
      .addColumn("state", "text")
      .addColumn("failed", "text")
      .addColumn("last_seen", "bigint")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("devices_pk", ["project", "id"])
      .execute();
    await db.schema
      .createTable("tag_pins")
      .addColumn("project", "text", (c) => c.notNull().references("projects.name").onDelete("cascade"))
      .addColumn("tag", "text", (c) => c.notNull())
      .addColumn("version", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("tag_pins_pk", ["project", "tag"])
      .execute();
    await db.schema
      .createTable("events")
      .addColumn("project", "text", (c) => c.notNull())
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("version", "text", (c) => c.notNull())
      .addColumn("event", "text", (c) => c.notNull())
      .addColumn("error", "text")
      .addColumn("rollout_id", "text")
      .addColumn("at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("events_pk", ["project", "device_id", "version", "event"])
      .execute();
    await db.schema.createIndex("events_rollout").on("events").columns(["rollout_id", "event"]).execute();
    await db.schema
      .createTable("admin_tokens")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("role", "text", (c) => c.notNull())
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("audit")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("actor", "text", (c) => c.notNull())
      .addColumn("action", "text", (c) => c.notNull())
      .addColumn("project", "text")
      .addColumn("target", "text")
      .addColumn("detail", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("audit_at").on("audit").columns(["at"]).execute();
  },
};

/** Which devices each rollout offered its new release to: the only devices its health counts. */
const rolloutOffers: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("rollout_offers")
      .addColumn("rollout_id", "text", (c) => c.notNull().references("rollouts.id").onDelete("cascade"))
      .addColumn("device_id", "text", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("rollout_offers_pk", ["rollout_id", "device_id"])
      .execute();
  },
};

/**
 * The dashboard: browser sessions (a cookie standing for an admin token; deleting the token ends its
 * sessions), check-ins counted per project and minute for the fleet charts, and the indexes that keep
 * device searches and the fleet overview fast at 100,000 devices.
 */
const dashboard: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("sessions")
      .addColumn("id_hash", "text", (c) => c.primaryKey())
      .addColumn("token_id", "text", (c) => c.notNull().references("admin_tokens.id").onDelete("cascade"))
      .addColumn("csrf", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("sessions_token").on("sessions").columns(["token_id"]).execute();
    await db.schema
      .createTable("checkin_counts")
      .addColumn("project", "text", (c) => c.notNull().references("projects.name").onDelete("cascade"))
      .addColumn("minute", "bigint", (c) => c.notNull())
      .addColumn("n", "integer", (c) => c.notNull())
      .addPrimaryKeyConstraint("checkin_counts_pk", ["project", "minute"])
      .execute();
    await db.schema.createIndex("devices_seen").on("devices").columns(["project", "last_seen"]).execute();
    await db.schema
      .createIndex("devices_running")
      .on("devices")
      .columns(["project", "version", "state"])
      .execute();
    // statuses counted, and the active devices silent the longest found, without touching the table
    await db.schema
      .createIndex("devices_status")
      .on("devices")
      .columns(["project", "status", "last_seen"])
      .execute();
    await db.schema.createIndex("events_at").on("events").columns(["project", "at"]).execute();
  },
};

/** Migrations by name; names sort in the order they apply. */
export const migrations: Record<string, Migration> = {
  "0001_initial": initial,
  "0002_rollout_offers": rolloutOffers,
  "0003_dashboard": dashboard,
  // PostgreSQL only: SQLite's triggers are made per connection (see changes.ts)
  "0004_change_notices": changeNoticeTriggers,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
