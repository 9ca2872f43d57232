/**
 * Update packs on `mpota serve`: uploaded with a release by publishRelease (each checked against the
 * envelope it leads to), served to devices under /d/<project>/packs/, and a device's first fetch of a
 * pack or an envelope recorded as its "downloading" event.
 */
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../testing/server.ts";
import {
  answerPack,
  decodePack,
  encodePack,
  makeEnvelopePatch,
  makeReleasePack,
  makeReleasePatches,
} from "../delta/index.ts";
import { generateKeyPair } from "../manifest/index.ts";
import { type BuiltRelease, buildRelease } from "../release/index.ts";
import { packName as packFile } from "../rules/index.ts";
import { publishStatic } from "../static/index.ts";
import { openStore, type ReleaseStore } from "../store/index.ts";
import { AdminClient, publishRelease, releaseFromFolder, releaseFromStore } from "./admin-client.ts";

const PROJECT = "greenhouse";
const key = generateKeyPair();
const module = Array.from({ length: 120 }, (_, i) => `x${i} = ${i * 3}\n`).join("");

describe("update packs on the server", () => {
  let s: TestServer;
  let store: ReleaseStore;
  let admin: AdminClient;
  let v1: BuiltRelease;
  let v2: BuiltRelease;
  let device: Record<string, string>;
  const adminHeaders = () => ({ authorization: `Bearer ${s.adminToken}` });
  const packName = () => packFile(v1.sha256, v2.sha256);
  const putPack = (name: string, payload: Buffer) =>
    s.app.inject({
      method: "PUT",
      url: `/api/v1/projects/${PROJECT}/packs/${name}`,
      headers: { ...adminHeaders(), "content-type": "application/octet-stream" },
      payload,
    });
  const downloadingEvents = () =>
    s.ctx.db.kysely
      .selectFrom("events")
      .select(["device_id", "version"])
      .where("event", "=", "downloading")
      .orderBy("version")
      .orderBy("device_id")
      .execute();

  const build = (version: string, main: string) => {
    const dir = mkdtempSync(join(tmpdir(), "mpota-app-"));
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "main.py"), main);
    writeFileSync(join(dir, "lib/same.py"), "s = 1\n");
    return buildRelease({
      dir,
      project: PROJECT,
      version,
      key,
      store,
      makePatches: makeReleasePatches,
      makeEnvelopePatch,
      makePack: makeReleasePack,
    });
  };

  beforeAll(async () => {
    s = await startTestServer("sqlite", { limits: { checkinIntervalMs: 0, maxPackBytes: 4096 } });
    await s.app.listen({ port: 0, host: "127.0.0.1" });
    admin = new AdminClient(
      `http://127.0.0.1:${(s.app.server.address() as { port: number }).port}`,
      s.adminToken,
    );
    await admin.request("POST", "/projects", { name: PROJECT });
    await admin.request("POST", `/projects/${PROJECT}/keys`, { publicKey: key.publicKeyHex });
    const { token } = await admin.request<{ token: string }>("POST", `/projects/${PROJECT}/devices`, {
      id: "b1",
    });
    device = { authorization: `Bearer ${token}`, "x-mpota-device": "b1" };
    store = openStore(mkdtempSync(join(tmpdir(), "mpota-store-")));
    v1 = await build("1.0.0", module);
    v2 = await build("1.1.0", module.replace("x9 =", "y9 ="));
  });
  afterAll(async () => s?.close());

  it("refuses a pack leading to an envelope that is not a release of the project", async () => {
    const res = await putPack(packName(), store.readPack(v1.sha256, v2.sha256));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe(
      `update pack ${packName()} leads to an envelope whose sha256 starts ${v2.sha256.slice(0, 16)}, which is not a release of "${PROJECT}" (publish the release first)`,
    );
  });

  it("publishRelease uploads the packs leading to the release once it exists, before the channel", async () => {
    await publishRelease(admin, releaseFromStore(store, PROJECT, "1.0.0"), { project: PROJECT });
    const result = await publishRelease(admin, releaseFromStore(store, PROJECT, "1.1.0"), {
      project: PROJECT,
      channel: "stable",
    });
    // main.py's blob, the envelope patch, the pack
    expect(result).toMatchObject({ version: "1.1.0", uploaded: 3, created: true, channel: "stable" });
    const res = await s.app.inject({ method: "GET", url: `/d/${PROJECT}/packs/${packName()}` });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload).toEqual(store.readPack(v1.sha256, v2.sha256));
    expect(res.headers.etag).toBe(`"${packFile(v1.sha256, v2.sha256).slice(0, -".pack".length)}"`);
    expect(res.headers["cache-control"]).toMatch(/immutable/);
    expect(res.headers["content-type"]).toBeUndefined(); // binary: what a recipient assumes without one
    expect(await downloadingEvents()).toEqual([]); // without a token: nobody to record
  });

  it("shows in a release's detail the pack's size and the patches its records carry", async () => {
    const res = await s.app.inject({
      method: "GET",
      url: `/api/v1/projects/${PROJECT}/releases/1.1.0`,
      headers: adminHeaders(),
    });
    expect(res.statusCode, res.body).toBe(200);
    const detail = res.json();
    const pack = store.readPack(v1.sha256, v2.sha256);
    expect(detail).toMatchObject({ previous: "1.0.0", patchedBytes: pack.length });
    expect(detail.patchedBytes).toBeLessThan(detail.wholeBytes);
    const oldMain = v1.envelope.signed.files.find((f) => f.path === "main.py")!;
    const files = Object.fromEntries(
      detail.files.map((f: { path: string; patches: unknown[] }) => [f.path, f.patches]),
    );
    expect(files).toEqual({
      "lib/same.py": [],
      "main.py": [{ from: oldMain.sha256, size: expect.any(Number) }],
    });
    expect(files["main.py"][0].size).toBeLessThan(pack.length);
  });

  it("refuses a damaged pack, one leading elsewhere and one over the limit, keeping none of them", async () => {
    const damaged = await putPack(packName(), Buffer.from("MPK1z"));
    expect(damaged.statusCode).toBe(400);
    expect(damaged.json().error).toBe(
      `update pack ${packName()}: a pack starts with the envelope's record (kind e or h)`,
    );
    const notPack = await putPack(packName(), Buffer.from("PK\u0003\u0004"));
    expect(notPack.json().error).toBe(`update pack ${packName()}: not an update pack (no MPK1)`);
    const elsewhere = encodePack([{ kind: "e", sha256: v1.sha256, data: Buffer.from("x") }]);
    const wrong = await putPack(packName(), elsewhere);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error).toBe(
      `update pack ${packName()}: its envelope record makes an envelope whose sha256 starts ${v1.sha256.slice(0, 16)}, not ${v2.sha256.slice(0, 16)}`,
    );
    // A check answer's envelope record (copy-hex) in a stored pack: boards before .up read only Fossil.
    const answerKind = encodePack([{ kind: "h", sha256: v2.sha256, data: Buffer.from("x") }]);
    expect((await putPack(packName(), answerKind)).json().error).toBe(
      `update pack ${packName()}: a stored pack's envelope record is a Fossil patch (kind e)`,
    );
    const big = encodePack([{ kind: "e", sha256: v2.sha256, data: Buffer.alloc(5000) }]);
    expect((await putPack(packName(), big)).statusCode).toBe(413);
    const badName = await putPack(`${v1.sha256}-${v2.sha256}.fz`, big);
    expect(badName.statusCode).toBe(400);
    // The stored pack is still the good one.
    const res = await s.app.inject({ method: "GET", url: `/d/${PROJECT}/packs/${packName()}` });
    expect(res.rawPayload).toEqual(store.readPack(v1.sha256, v2.sha256));
  });

  it("answers 404 for a pack it does not have and 400 for a name that is not a pack's", async () => {
    const nowhere = "0".repeat(64);
    const missing = await s.app.inject({
      method: "GET",
      url: `/d/${PROJECT}/packs/${packFile(v2.sha256, nowhere)}`,
      headers: device,
    });
    expect(missing.statusCode).toBe(404);
    const bad = await s.app.inject({ method: "GET", url: `/d/${PROJECT}/packs/${v1.sha256}.pack` });
    expect(bad.statusCode).toBe(400);
    expect(await downloadingEvents()).toEqual([]); // a pack to no release: no download of one
  });

  it("checks a token that is sent, and records a device's first fetch of a pack as its downloading event", async () => {
    const wrong = await s.app.inject({
      method: "GET",
      url: `/d/${PROJECT}/packs/${packName()}`,
      headers: { ...device, authorization: "Bearer mpd_wrong" },
    });
    expect(wrong.statusCode).toBe(401);
    for (let i = 0; i < 2; i++) {
      const res = await s.app.inject({
        method: "GET",
        url: `/d/${PROJECT}/packs/${packName()}`,
        headers: device,
      });
      expect(res.statusCode).toBe(200);
    }
    expect(await downloadingEvents()).toEqual([{ device_id: "b1", version: "1.1.0" }]);
  });

  it("records a device's fetch of a release envelope, or of a missing pack to it, as its downloading event", async () => {
    const res = await s.app.inject({
      method: "GET",
      url: `/d/${PROJECT}/releases/1.0.0.json`,
      headers: device,
    });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload).toEqual(v1.bytes);
    const { token } = await admin.request<{ token: string }>("POST", `/projects/${PROJECT}/devices`, {
      id: "b2",
    });
    const missing = await s.app.inject({
      method: "GET",
      url: `/d/${PROJECT}/packs/${packFile("0".repeat(64), v2.sha256)}`,
      headers: { authorization: `Bearer ${token}`, "x-mpota-device": "b2" },
    });
    expect(missing.statusCode).toBe(404);
    expect(await downloadingEvents()).toEqual([
      { device_id: "b1", version: "1.0.0" },
      { device_id: "b1", version: "1.1.0" },
      { device_id: "b2", version: "1.1.0" },
    ]);
  });

  it("answers a check-in for channels/<channel>.up (and .pack) with the pointer and the pack from the device's release", async () => {
    const { token } = await admin.request<{ token: string }>("POST", `/projects/${PROJECT}/devices`, {
      id: "b3",
    });
    const headers = { authorization: `Bearer ${token}`, "x-mpota-device": "b3" };
    const checkin = (file: string, version: string, etag?: string) =>
      s.app.inject({
        method: "GET",
        url: `/d/${PROJECT}/channels/${file}?version=${version}&state=good`,
        headers: etag ? { ...headers, "if-none-match": etag } : headers,
      });
    const pointer = await checkin("stable.json", "1.0.0");
    expect(pointer.statusCode).toBe(200);
    // A pack not on the server (yet): the answer is the pointer alone, and the pack is looked for again.
    const stored = s.ctx.store.path(PROJECT, "packs", packName());
    renameSync(stored, `${stored}.away`);
    const before = await checkin("stable.pack", "1.0.0");
    renameSync(`${stored}.away`, stored);
    expect(before.rawPayload.toString()).toMatch(
      /^\{"signatures":\[\],"signed":\n\{"sha256":"[0-9a-f]{64}","size":\d+,"version":"1\.1\.0"\}\n\}\n$/,
    );
    const answer = await checkin("stable.pack", "1.0.0");
    expect(answer.statusCode).toBe(200);
    expect(answer.headers.etag).toBe(pointer.headers.etag);
    expect(answer.headers["content-type"]).toBeUndefined();
    expect(pointer.headers["content-type"]).toMatch(/^application\/json/);
    // The unsigned pointer without what the device knows (project, channel, release path), then the pack.
    const compact = Buffer.from(
      `{"signatures":[],"signed":\n{"sha256":"${v2.sha256}","size":${v2.bytes.length},"version":"1.1.0"}\n}\n`,
    );
    expect(answer.rawPayload).toEqual(
      Buffer.concat([compact, Buffer.from(v1.sha256.slice(0, 16)), store.readPack(v1.sha256, v2.sha256)]),
    );
    expect((await downloadingEvents()).filter((e) => e.device_id === "b3")).toEqual([
      { device_id: "b3", version: "1.1.0" },
    ]);
    // On the release offered, or from a release the server has no pack from: the pointer alone.
    expect((await checkin("stable.pack", "1.1.0")).rawPayload).toEqual(compact);
    expect((await checkin("stable.pack", "0.9.0")).rawPayload).toEqual(compact);
    // Unchanged since the device's last answer: 304, no pack.
    const same = await checkin("stable.pack", "1.0.0", pointer.headers.etag as string);
    expect(same.statusCode).toBe(304);
    expect(same.rawPayload).toHaveLength(0);
    // channels/<channel>.up, what boards ask for now: the pointer's line and sha256, 8 bytes of the origin,
    // the pack with its envelope's patch in copy-hex.
    const line = Buffer.concat([Buffer.from(`1.1.0 ${v2.bytes.length}\n`), Buffer.from(v2.sha256, "hex")]);
    const up = await checkin("stable.up", "1.0.0");
    expect(up.headers.etag).toBe(pointer.headers.etag);
    const pack = answerPack(store.readPack(v1.sha256, v2.sha256), "up", v1.bytes, v2.bytes);
    expect(decodePack(pack)[0]!.kind).toBe("h");
    expect(up.rawPayload).toEqual(Buffer.concat([line, Buffer.from(v1.sha256.slice(0, 16), "hex"), pack]));
    expect((await checkin("stable.up", "1.1.0")).rawPayload).toEqual(line);
    expect((await checkin("stable.up", "1.0.0", pointer.headers.etag as string)).statusCode).toBe(304);
  });

  it("releaseFromFolder finds the packs leading to the release in a static site", async () => {
    const site = mkdtempSync(join(tmpdir(), "mpota-site-"));
    publishStatic({ site, store, project: PROJECT, version: "1.1.0", channel: "stable" });
    const files = await releaseFromFolder(site, PROJECT, "1.1.0");
    expect(files.packs).toEqual([packName()]);
    expect(await files.pack!(packName())).toEqual(store.readPack(v1.sha256, v2.sha256));
    expect(
      (await releaseFromFolder(site, PROJECT, "1.0.0").catch((e: Error) => e.message)) as string,
    ).toMatch(/no release 1.0.0/);
  });
});
