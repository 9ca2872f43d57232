/** Releases and channels as the database holds them. */
import type { Kysely } from "kysely";
import type { Channel, Database, Release } from "../../db/index.ts";
import { DataError } from "../errors.ts";

type Db = Kysely<Database>;

/** The release `version` of `project`, or undefined. */
export function findRelease(db: Db, project: string, version: string): Promise<Release | undefined> {
  return db
    .selectFrom("releases")
    .selectAll()
    .where("project", "=", project)
    .where("version", "=", version)
    .executeTakeFirst();
}

export async function requireRelease(db: Db, project: string, version: string): Promise<Release> {
  const release = await findRelease(db, project, version);
  if (!release) throw new DataError("not-found", `project "${project}" has no release ${version}`);
  return release;
}

/** The channel `name` of `project`, or undefined. */
export function findChannel(db: Db, project: string, name: string): Promise<Channel | undefined> {
  return db
    .selectFrom("channels")
    .selectAll()
    .where("project", "=", project)
    .where("name", "=", name)
    .executeTakeFirst();
}

/** The version and hash of the release its project published just before `release`, or undefined. */
export function releaseBefore(db: Db, release: Pick<Release, "project" | "created_at">) {
  return db
    .selectFrom("releases")
    .select(["version", "sha256"])
    .where("project", "=", release.project)
    .where("created_at", "<", release.created_at)
    .orderBy("created_at", "desc")
    .limit(1)
    .executeTakeFirst();
}
