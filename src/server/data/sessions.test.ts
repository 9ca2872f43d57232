/** Dashboard sessions in the database: live until they expire, dropped when expired, sign-ins audited. */
import { afterEach, describe, expect, it } from "vitest";
import { type OpenTestDatabase, openTestDatabase, testDialects } from "../../../testing/db.ts";
import { createAdminToken, createSession, deleteSession, findLiveSession, listAudit } from "./index.ts";

describe.each(testDialects)("sessions in the database (%s)", (dialect) => {
  let t: OpenTestDatabase | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const now = 1_700_000_000_000;

  async function withToken() {
    t = await openTestDatabase(dialect);
    const token = await createAdminToken(t.kysely, "ana", "read-only", now, "test");
    return { db: t.kysely, token };
  }

  it("finds a session with its token until it expires, and not once it is deleted", async () => {
    const { db, token } = await withToken();
    const change = { actor: "token:ana", at: now };
    await createSession(db, { idHash: "h1", tokenId: token.id, csrf: "c1", expiresAt: now + 1000 }, change);
    await createSession(db, { idHash: "h2", tokenId: token.id, csrf: "c2", expiresAt: now + 1000 }, change);
    expect(await findLiveSession(db, "h1", now + 999)).toEqual({
      id: token.id,
      name: "ana",
      role: "read-only",
      csrf: "c1",
    });
    expect(await findLiveSession(db, "h1", now + 1000)).toBeUndefined();
    expect(await findLiveSession(db, "h3", now)).toBeUndefined();
    await deleteSession(db, "h1");
    expect(await findLiveSession(db, "h1", now)).toBeUndefined();
    expect((await findLiveSession(db, "h2", now))?.csrf).toBe("c2");
  });

  it("drops the expired sessions when it stores one, and audits each sign-in", async () => {
    const { db, token } = await withToken();
    const session = { tokenId: token.id, csrf: "c" };
    await createSession(db, { ...session, idHash: "old", expiresAt: now + 1000 }, { actor: "token:ana", at: now });
    await createSession(db, { ...session, idHash: "lasting", expiresAt: now + 9000 }, { actor: "token:ana", at: now });
    const later = now + 2000;
    await createSession(db, { ...session, idHash: "new", expiresAt: later + 1000 }, { actor: "token:ana", at: later });
    const stored = await db.selectFrom("sessions").select(["id_hash", "created_at"]).orderBy("id_hash").execute();
    expect(stored).toEqual([
      { id_hash: "lasting", created_at: now },
      { id_hash: "new", created_at: later },
    ]);
    const signIns = (await listAudit(db, 10)).filter((e) => e.action === "session.start");
    expect(signIns.map((e) => [e.actor, e.target, Number(e.at)])).toEqual([
      ["token:ana", token.id, later],
      ["token:ana", token.id, now],
      ["token:ana", token.id, now],
    ]);
  });
});
