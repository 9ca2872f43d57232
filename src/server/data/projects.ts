/** Projects, their public keys, the enrolment token, and version pins by device tag. */
import type { Kysely } from "kysely";
import type { Database, Project } from "../../db/index.ts";
import { keyIdOf } from "../../manifest/index.ts";
import { recordAudit } from "../audit.ts";
import { DataError } from "../errors.ts";
import type { Change } from "./change.ts";
import { requireRelease } from "./releases.ts";

type Db = Kysely<Database>;

export async function requireProject(db: Db, name: string): Promise<Project> {
  const project = await db.selectFrom("projects").selectAll().where("name", "=", name).executeTakeFirst();
  if (!project) throw new DataError("not-found", `no project "${name}"`);
  return project;
}

export function listProjects(db: Db): Promise<Project[]> {
  return db.selectFrom("projects").selectAll().orderBy("name").execute();
}

/** Creates project `name`; a conflict when it exists. */
export async function createProject(db: Db, name: string, autoAccept: boolean, change: Change): Promise<Project> {
  const row = { name, auto_accept: autoAccept ? 1 : 0, enrol_token_hash: null, created_at: change.at };
  await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto("projects")
      .values(row)
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0)
      throw new DataError("conflict", `project "${name}" already exists`);
    await recordAudit(trx, change.at, {
      actor: change.actor,
      action: "project.create",
      project: name,
      detail: { autoAccept },
    });
  });
  return row;
}

/** A project's public keys and channels, each in order. */
export async function projectKeysAndChannels(db: Db, project: string) {
  const keys = await db
    .selectFrom("keys")
    .select(["keyid", "public_key"])
    .where("project", "=", project)
    .orderBy("keyid")
    .execute();
  const channels = await db
    .selectFrom("channels")
    .selectAll()
    .where("project", "=", project)
    .orderBy("name")
    .execute();
  return { keys, channels };
}

export async function setAutoAccept(db: Db, project: string, autoAccept: boolean, change: Change): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable("projects")
      .set({ auto_accept: autoAccept ? 1 : 0 })
      .where("name", "=", project)
      .execute();
    await recordAudit(trx, change.at, {
      actor: change.actor,
      action: "project.update",
      project,
      detail: { autoAccept },
    });
  });
}

/** Sets (a hash) or closes (null) the project's enrolment token. */
export async function setEnrolmentTokenHash(
  db: Db,
  project: string,
  hash: string | null,
  change: Change,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable("projects").set({ enrol_token_hash: hash }).where("name", "=", project).execute();
    await recordAudit(trx, change.at, {
      actor: change.actor,
      action: hash === null ? "project.enrolment-close" : "project.enrolment-token",
      project,
    });
  });
}

/** Adds an Ed25519 public key (hex) to the project (again: nothing changes); its key id. */
export async function addKey(db: Db, project: string, publicKey: string, change: Change): Promise<string> {
  const keyid = keyIdOf(publicKey);
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("keys")
      .values({ project, keyid, public_key: publicKey, created_at: change.at })
      .onConflict((oc) => oc.columns(["project", "keyid"]).doNothing())
      .execute();
    await recordAudit(trx, change.at, {
      actor: change.actor,
      action: "key.add",
      project,
      target: keyid,
      detail: { publicKey },
    });
  });
  return keyid;
}

export async function removeKey(db: Db, project: string, keyid: string, change: Change): Promise<void> {
  await requireProject(db, project);
  await db.transaction().execute(async (trx) => {
    const result = await trx
      .deleteFrom("keys")
      .where("project", "=", project)
      .where("keyid", "=", keyid)
      .executeTakeFirst();
    if (Number(result.numDeletedRows) === 0)
      throw new DataError("not-found", `project "${project}" has no key ${keyid}`);
    await recordAudit(trx, change.at, { actor: change.actor, action: "key.remove", project, target: keyid });
  });
}

export async function listPins(db: Db, project: string) {
  await requireProject(db, project);
  return db
    .selectFrom("tag_pins")
    .select(["tag", "version"])
    .where("project", "=", project)
    .orderBy("tag")
    .execute();
}

/** Pins devices tagged `tag` to release `version` (which must exist). */
export async function setPin(db: Db, project: string, tag: string, version: string, change: Change): Promise<void> {
  await requireRelease(db, project, version);
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("tag_pins")
      .values({ project, tag, version })
      .onConflict((oc) => oc.columns(["project", "tag"]).doUpdateSet({ version }))
      .execute();
    await recordAudit(trx, change.at, {
      actor: change.actor,
      action: "pin.tag",
      project,
      target: tag,
      detail: { version },
    });
  });
}

export async function removePin(db: Db, project: string, tag: string, change: Change): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const result = await trx
      .deleteFrom("tag_pins")
      .where("project", "=", project)
      .where("tag", "=", tag)
      .executeTakeFirst();
    if (Number(result.numDeletedRows) === 0)
      throw new DataError("not-found", `no pin on tag "${tag}" in project "${project}"`);
    await recordAudit(trx, change.at, { actor: change.actor, action: "unpin.tag", project, target: tag });
  });
}
