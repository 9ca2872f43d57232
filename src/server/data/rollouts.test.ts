/** Rollouts in the database: started from a channel's release (audited as asked), listed newest first. */
import { afterEach, describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import type { Database } from "../../db/index.ts";
import { type OpenTestDatabase, openTestDatabase, testDialects } from "../../../testing/db.ts";
import { createProject, listAudit, listRollouts, startRollout } from "./index.ts";

const now = 1_700_000_000_000;

async function publish(db: Kysely<Database>, project: string, version: string) {
  await db
    .insertInto("releases")
    .values({ project, version, sha256: "0".repeat(64), size: 1, files: 1, rollback: 0, created_at: now })
    .execute();
}

const plan = (channel: string, version: string) => ({
  channel,
  version,
  steps: [50, 100],
  minWaitSeconds: 60,
  failurePercent: 10,
  minFailures: 1,
});

describe.each(testDialects)("rollouts in the database (%s)", (dialect) => {
  let t: OpenTestDatabase | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("lists a project's newest rollouts first, as many as asked", async () => {
    t = await openTestDatabase(dialect);
    const db = t.kysely;
    for (const project of ["p", "q"]) {
      await createProject(db, project, false, { actor: "test", at: now });
      await publish(db, project, "1.0.0");
    }
    const started = [];
    for (const [i, channel] of ["a", "b", "c"].entries())
      started.push(await startRollout(db, "p", plan(channel, "1.0.0"), { actor: "test", at: now + i }, {}));
    const other = await startRollout(db, "q", plan("a", "1.0.0"), { actor: "test", at: now + 9 }, {});
    expect((await listRollouts(db, "p", 100)).map((r) => r.id)).toEqual(started.map((r) => r.id).reverse());
    expect((await listRollouts(db, "p", 2)).map((r) => r.channel)).toEqual(["c", "b"]);
    expect(await listRollouts(db, "q", 100)).toEqual([other]);
    expect(await listRollouts(db, "nope", 100)).toEqual([]);
  });

  it("starts from the channel's release, and the audit log keeps the request as sent", async () => {
    t = await openTestDatabase(dialect);
    const db = t.kysely;
    await createProject(db, "p", false, { actor: "test", at: now });
    await publish(db, "p", "1.0.0");
    await publish(db, "p", "2.0.0");
    await db
      .insertInto("channels")
      .values({ project: "p", name: "stable", version: "1.0.0", rollout_id: null, updated_at: now })
      .execute();
    const asked = { channel: "stable", version: "2.0.0", steps: [50, 100] };
    const rollout = await startRollout(db, "p", plan("stable", "2.0.0"), { actor: "token:ana", at: now + 1 }, asked);
    expect(rollout).toMatchObject({ from_version: "1.0.0", to_version: "2.0.0", state: "running", step: 0 });
    expect(await listRollouts(db, "p", 1)).toEqual([rollout]);
    const channel = await db.selectFrom("channels").selectAll().where("name", "=", "stable").executeTakeFirst();
    expect(channel).toMatchObject({ version: "1.0.0", rollout_id: rollout.id });
    const [entry] = await listAudit(db, 1, "p");
    expect(entry).toMatchObject({ actor: "token:ana", action: "rollout.start", target: rollout.id });
    expect(JSON.parse(entry!.detail)).toEqual({ ...asked, from: "1.0.0" });
  });
});
