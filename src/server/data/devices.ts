/** Devices of a project: provisioned, listed and filtered, accepted, revoked, tagged, pinned. */
import { type Kysely, sql } from "kysely";
import type { Database, Device } from "../../db/index.ts";
import type { DeviceQuery } from "../api-schemas.ts";
import { recordAudit } from "../audit.ts";
import { DataError } from "../errors.ts";
import type { Change } from "./change.ts";

type Db = Kysely<Database>;

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export async function requireDevice(db: Db, project: string, id: string): Promise<Device> {
  const device = await db
    .selectFrom("devices")
    .selectAll()
    .where("project", "=", project)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!device) throw new DataError("not-found", `project "${project}" has no device "${id}"`);
  return device;
}

/** Adds an active device with the token `tokenHash`; a conflict when the id is taken. */
export async function provisionDevice(
  db: Db,
  project: string,
  device: { id: string; tags: string[]; pin: string | null; tokenHash: string },
  change: Change,
): Promise<void> {
  const { id, tags, pin } = device;
  await db.transaction().execute(async (trx) => {
    const result = await trx
      .insertInto("devices")
      .values({
        project,
        id,
        token_hash: device.tokenHash,
        status: "active",
        tags: JSON.stringify(tags),
        pin,
        created_at: change.at,
      })
      .onConflict((oc) => oc.columns(["project", "id"]).doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0)
      throw new DataError("conflict", `device "${id}" already exists in project "${project}"`);
    await recordAudit(trx, change.at, {
      actor: change.actor,
      action: "device.provision",
      project,
      target: id,
      detail: { tags, pin },
    });
  });
}

/** One page of the project's devices that match `q` (at most `limit`), how many match, and if more follow. */
export async function findDevices(db: Db, project: string, q: DeviceQuery, limit: number, now: number) {
  let query = db.selectFrom("devices").where("project", "=", project);
  if (q.status) query = query.where("status", "=", q.status);
  // tags are a JSON list of plain words, so a quoted substring match is exact
  if (q.tag) query = query.where(sql<boolean>`tags like ${`%"${likeEscape(q.tag)}"%`} escape '\\'`);
  if (q.q) query = query.where(sql<boolean>`lower(id) like ${`%${likeEscape(q.q.toLowerCase())}%`} escape '\\'`);
  if (q.version === "none") query = query.where("version", "is", null);
  else if (q.version) query = query.where("version", "=", q.version);
  if (q.state) query = query.where("state", "=", q.state);
  if (q.seenWithin) query = query.where("last_seen", ">=", now - Number(q.seenWithin) * 1000);
  if (q.notSeenFor) {
    const before = now - Number(q.notSeenFor) * 1000;
    query = query.where((eb) => eb.or([eb("last_seen", "is", null), eb("last_seen", "<", before)]));
  }
  const { total } = await query
    .select((eb) => eb.fn.countAll<number | string>().as("total"))
    .executeTakeFirstOrThrow();
  // Keyset paging (`after`: the last id of the page before) stays fast deep into 100,000 devices;
  // `offset` is kept for the CLI.
  let page = query
    .selectAll()
    .orderBy("id")
    .limit(limit + 1);
  if (q.after) page = page.where("id", ">", q.after);
  else if (q.offset) page = page.offset(Number(q.offset));
  const rows = await page.execute();
  return { total: Number(total), devices: rows.slice(0, limit), more: rows.length > limit };
}

/** The device's last 100 events, newest first. */
export function deviceEvents(db: Db, device: Device) {
  return db
    .selectFrom("events")
    .select(["version", "event", "error", "at"])
    .where("project", "=", device.project)
    .where("device_id", "=", device.id)
    .orderBy("at", "desc")
    .limit(100)
    .execute();
}

/** Writes `changes` to the device; `detail` is what the audit log records of the request. */
export async function updateDevice(
  db: Db,
  project: string,
  id: string,
  changes: Partial<Device>,
  detail: Record<string, unknown>,
  change: Change,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable("devices").set(changes).where("project", "=", project).where("id", "=", id).execute();
    await recordAudit(trx, change.at, { actor: change.actor, action: "device.update", project, target: id, detail });
  });
}

/** Gives the device a new token (its hash); the old one stops working. */
export async function setDeviceToken(
  db: Db,
  project: string,
  id: string,
  tokenHash: string,
  change: Change,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable("devices")
      .set({ token_hash: tokenHash })
      .where("project", "=", project)
      .where("id", "=", id)
      .execute();
    await recordAudit(trx, change.at, { actor: change.actor, action: "device.token", project, target: id });
  });
}
