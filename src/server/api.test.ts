/**
 * The HTTP API through inject(), the same suite on SQLite and PostgreSQL: every route with good and
 * bad input, and what bad input must not leave behind.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDialects } from "../../testing/db.ts";
import {
  startTestServer,
  type TestKey,
  type TestRelease,
  type TestServer,
  testKey,
  testRelease,
} from "../../testing/server.ts";

describe.each(testDialects)("server API (%s)", (dialect) => {
  let s: TestServer;
  let key: TestKey;
  let admin: Record<string, string>;
  let v1: TestRelease;
  let v2: TestRelease;
  const files1 = { "main.py": "print('v1')\n", "lib/util.py": "X = 1\n".repeat(50) };
  const files2 = { "main.py": "print('v2')\n", "lib/util.py": `${"X = 1\n".repeat(50)}Y = 2\n` };

  const inject = (opts: InjectOptions) => s.app.inject(opts);
  const api = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, payload?: unknown) =>
    inject({
      method,
      url: `/api/v1${url}`,
      headers: admin,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const upload = async (release: TestRelease, project = "greenhouse") => {
    for (const [name, bytes] of release.blobs) {
      const res = await inject({
        method: "PUT",
        url: `/api/v1/projects/${project}/blobs/${name}`,
        headers: { ...admin, "content-type": "application/octet-stream" },
        payload: bytes,
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    for (const [name, bytes] of release.patches) {
      const { createHash } = await import("node:crypto");
      const res = await inject({
        method: "PUT",
        url: `/api/v1/projects/${project}/patches/${name}`,
        headers: {
          ...admin,
          "content-type": "application/octet-stream",
          "x-mpota-sha256": createHash("sha256").update(bytes).digest("hex"),
        },
        payload: bytes,
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    return api("POST", `/projects/${project}/releases`, release.envelope);
  };
  const deviceHeaders = (id: string, token: string) => ({
    authorization: `Bearer ${token}`,
    "x-mpota-device": id,
  });
  const provision = async (id: string, body: Record<string, unknown> = {}, project = "greenhouse") => {
    const res = await api("POST", `/projects/${project}/devices`, { id, ...body });
    expect(res.statusCode, res.body).toBe(201);
    return deviceHeaders(id, res.json().token);
  };

  beforeAll(async () => {
    s = await startTestServer(dialect, { limits: { checkinIntervalMs: 0 } });
    admin = { authorization: `Bearer ${s.adminToken}` };
    key = testKey();
    v1 = testRelease("greenhouse", "1.0.0", files1, key);
    v2 = testRelease("greenhouse", "1.1.0", files2, key, { from: files1 });
  });
  afterAll(async () => s?.close());

  describe("admin auth", () => {
    it("refuses a missing or unknown token with 401", async () => {
      const none = await inject({ method: "GET", url: "/api/v1/projects" });
      expect(none.statusCode).toBe(401);
      expect(none.json().error).toMatch(/missing admin token/);
      expect(none.headers["www-authenticate"]).toMatch(/Bearer/);
      const wrong = await inject({
        method: "GET",
        url: "/api/v1/projects",
        headers: { authorization: "Bearer mpa_nope" },
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error).toBe("unknown admin token");
    });

    it("lets a read-only token read but not change", async () => {
      const created = await api("POST", "/tokens", { name: "viewer", role: "read-only" });
      expect(created.statusCode).toBe(201);
      const viewer = { authorization: `Bearer ${created.json().token}` };
      expect((await inject({ method: "GET", url: "/api/v1/projects", headers: viewer })).statusCode).toBe(
        200,
      );
      const denied = await inject({
        method: "POST",
        url: "/api/v1/projects",
        headers: viewer,
        payload: { name: "x" },
      });
      expect(denied.statusCode).toBe(403);
      expect(denied.json().error).toMatch(/read-only/);
      const list = await api("GET", "/tokens");
      expect(list.json().tokens.map((t: { name: string }) => t.name)).toEqual(["bootstrap", "viewer"]);
      expect(JSON.stringify(list.json())).not.toContain(created.json().token);
    });
  });

  describe("projects and keys", () => {
    it("creates a project, refuses a duplicate and bad input", async () => {
      expect((await api("POST", "/projects", { name: "greenhouse" })).statusCode).toBe(201);
      expect((await api("POST", "/projects", { name: "other", autoAccept: true })).statusCode).toBe(201);
      const dup = await api("POST", "/projects", { name: "greenhouse" });
      expect(dup.statusCode).toBe(409);
      const badName = await api("POST", "/projects", { name: "Bad Name" });
      expect(badName.statusCode).toBe(400);
      expect(badName.json().error).toMatch(/body\/name/);
      const wrongType = await api("POST", "/projects", { name: "p2", autoAccept: "yes" });
      expect(wrongType.statusCode).toBe(400);
      expect(wrongType.json().error).toMatch(/autoAccept/);
      const unknownField = await api("POST", "/projects", { name: "p3", color: "red" });
      expect(unknownField.statusCode).toBe(400);
      const badJson = await inject({
        method: "POST",
        url: "/api/v1/projects",
        headers: { ...admin, "content-type": "application/json" },
        payload: "{name:",
      });
      expect(badJson.statusCode).toBe(400);
      expect(badJson.json().error).toMatch(/JSON/i);
      const names = (await api("GET", "/projects")).json().projects.map((p: { name: string }) => p.name);
      expect(names).toEqual(["greenhouse", "other"]);
    });

    it("adds keys by their raw public key and names them by key id", async () => {
      const res = await api("POST", "/projects/greenhouse/keys", { publicKey: key.publicKeyHex });
      expect(res.statusCode).toBe(201);
      expect(res.json().keyid).toBe(key.keyId);
      expect((await api("POST", "/projects/greenhouse/keys", { publicKey: "abc" })).statusCode).toBe(400);
      expect((await api("POST", "/projects/nope/keys", { publicKey: key.publicKeyHex })).statusCode).toBe(
        404,
      );
      const project = (await api("GET", "/projects/greenhouse")).json();
      expect(project.keys).toEqual([{ keyid: key.keyId, publicKey: key.publicKeyHex }]);
    });
  });

  describe("publishing", () => {
    it("plans, uploads only what is missing, and publishes", async () => {
      const plan = await api("POST", "/projects/greenhouse/releases/plan", v1.envelope);
      expect(plan.statusCode, plan.body).toBe(200);
      expect(plan.json().missing.blobs.sort()).toEqual([...v1.blobs.keys()].sort());
      const early = await api("POST", "/projects/greenhouse/releases", v1.envelope);
      expect(early.statusCode).toBe(409);
      expect(early.json().error).toMatch(/not uploaded yet/);
      const res = await upload(v1);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ version: "1.0.0", files: 2, size: v1.bytes.length });
      // the same release again is harmless
      expect((await api("POST", "/projects/greenhouse/releases", v1.envelope)).statusCode).toBe(200);
      // v2 shares nothing with v1 but needs its patches too
      const plan2 = (await api("POST", "/projects/greenhouse/releases/plan", v2.envelope)).json();
      expect(plan2.missing.blobs.length).toBe(2);
      expect(plan2.missing.patches.length).toBe(2);
      expect((await upload(v2)).statusCode).toBe(201);
      const again = (await api("POST", "/projects/greenhouse/releases/plan", v2.envelope)).json();
      expect(again).toMatchObject({ published: true, missing: { blobs: [], patches: [] } });
    });

    it("refuses an envelope signed with an unknown key, and stores nothing", async () => {
      const stranger = testRelease("greenhouse", "9.0.0", { "main.py": "evil()\n" }, testKey());
      for (const url of ["/projects/greenhouse/releases/plan", "/projects/greenhouse/releases"]) {
        const res = await api("POST", url, stranger.envelope);
        expect(res.statusCode).toBe(400);
        expect(res.json().error).toMatch(/no valid signature by a key of project "greenhouse"/);
      }
      const tampered = structuredClone(v1.envelope);
      tampered.signed.version = "1.0.1";
      expect((await api("POST", "/projects/greenhouse/releases", tampered)).json().error).toMatch(
        /no valid signature/,
      );
      const versions = (await api("GET", "/projects/greenhouse/releases"))
        .json()
        .releases.map((r: { version: string }) => r.version);
      expect(versions.sort()).toEqual(["1.0.0", "1.1.0"]);
    });

    it("refuses a manifest of another project, a bad manifest, and a changed release under a published version", async () => {
      const other = testRelease("other", "1.0.0", files1, key);
      expect((await api("POST", "/projects/greenhouse/releases", other.envelope)).json().error).toMatch(
        /for project "other"/,
      );
      const bad = structuredClone(v1.envelope) as unknown as { signed: { files: Array<{ path: string }> } };
      bad.signed.files[0]!.path = "../boot.py";
      const res = await api("POST", "/projects/greenhouse/releases/plan", bad);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/path/);
      const changed = testRelease("greenhouse", "1.0.0", { "main.py": "print('other')\n" }, key);
      expect((await api("POST", "/projects/greenhouse/releases/plan", changed.envelope)).statusCode).toBe(
        409,
      );
      const notJson = await inject({
        method: "POST",
        url: "/api/v1/projects/greenhouse/releases",
        headers: admin,
        payload: { signed: 1, signatures: [] },
      });
      expect(notJson.statusCode).toBe(400);
    });

    it("refuses a blob whose content does not match its name, or is not zlib, and keeps nothing", async () => {
      const [name] = [...v1.blobs.keys()];
      const wrongName = `${"0".repeat(64)}.z`;
      const put = (file: string, payload: Buffer, kind = "blobs") =>
        inject({
          method: "PUT",
          url: `/api/v1/projects/greenhouse/${kind}/${file}`,
          headers: { ...admin, "content-type": "application/octet-stream" },
          payload,
        });
      const mismatch = await put(wrongName, v1.blobs.get(name!)!);
      expect(mismatch.statusCode).toBe(400);
      expect(mismatch.json().error).toMatch(/inflates to content with SHA-256/);
      const garbage = await put(wrongName, Buffer.from("not zlib at all"));
      expect(garbage.statusCode).toBe(400);
      expect(garbage.json().error).toMatch(/not a zlib stream/);
      expect(existsSync(join(s.dataDir, "store/greenhouse/blobs", wrongName))).toBe(false);
      expect((await put("nothex.z", Buffer.from("x"))).statusCode).toBe(400);
      const noType = await inject({
        method: "PUT",
        url: `/api/v1/projects/greenhouse/blobs/${wrongName}`,
        headers: { ...admin, "content-type": "application/json" },
        payload: "{}",
      });
      expect(noType.statusCode).toBe(415);
      const noHash = await put(`${"1".repeat(64)}-${"2".repeat(64)}.fz`, Buffer.from("x"), "patches");
      expect(noHash.statusCode).toBe(400);
      expect(noHash.json().error).toMatch(/x-mpota-sha256/);
      const patchName = `${"1".repeat(64)}-${"2".repeat(64)}.fz`;
      const wrongHash = await inject({
        method: "PUT",
        url: `/api/v1/projects/greenhouse/patches/${patchName}`,
        headers: { ...admin, "content-type": "application/octet-stream", "x-mpota-sha256": "3".repeat(64) },
        payload: deflateSync(Buffer.from("a patch")),
      });
      expect(wrongHash.statusCode).toBe(400);
      expect(wrongHash.json().error).toMatch(/has SHA-256 [0-9a-f]{64}, not 3{64}/);
      expect(existsSync(join(s.dataDir, "store/greenhouse/patches", patchName))).toBe(false);
      expect(readdirSync(join(s.dataDir, "tmp"))).toEqual([]);
    });

    it("refuses an oversized upload with 413 and keeps nothing", async () => {
      const small = await startTestServer(dialect, { limits: { maxBlobBytes: 1000 } });
      try {
        const headers = { authorization: `Bearer ${small.adminToken}` };
        await small.app.inject({ method: "POST", url: "/api/v1/projects", headers, payload: { name: "p" } });
        const { randomBytes, createHash } = await import("node:crypto");
        const data = randomBytes(5000);
        const name = `${createHash("sha256").update(data).digest("hex")}.z`;
        const res = await small.app.inject({
          method: "PUT",
          url: `/api/v1/projects/p/blobs/${name}`,
          headers: { ...headers, "content-type": "application/octet-stream" },
          payload: deflateSync(data),
        });
        expect(res.statusCode).toBe(413);
        expect(res.json().error).toMatch(/larger than the limit of 1000 bytes/);
        expect(existsSync(join(small.dataDir, "store/p/blobs", name))).toBe(false);
        const envelope = await small.app.inject({
          method: "POST",
          url: "/api/v1/projects/p/releases",
          headers: { ...headers, "content-type": "application/json" },
          payload: `{"signed":{},"signatures":[],"pad":"${"x".repeat(9 * 1024 * 1024)}"}`,
        });
        expect(envelope.statusCode).toBe(413);
      } finally {
        await small.close();
      }
    });

    it("points a channel at a published release only", async () => {
      expect(
        (await api("PUT", "/projects/greenhouse/channels/stable", { version: "1.0.0" })).statusCode,
      ).toBe(200);
      const missing = await api("PUT", "/projects/greenhouse/channels/stable", { version: "7.7.7" });
      expect(missing.statusCode).toBe(404);
      expect(
        (await api("PUT", "/projects/greenhouse/channels/stable", { version: "latest" })).statusCode,
      ).toBe(400);
      expect((await api("GET", "/projects/greenhouse/channels")).json().channels).toEqual([
        { name: "stable", version: "1.0.0", rollout: null },
      ]);
    });
  });

  describe("devices", () => {
    it("provisions a device whose token checks in and reads its project's files", async () => {
      const dev = await provision("dev-1", { tags: ["lab"] });
      const pointer = await inject({
        method: "GET",
        url: "/d/greenhouse/channels/stable.json?version=1.0.0&state=good",
        headers: dev,
      });
      expect(pointer.statusCode, pointer.body).toBe(200);
      const [line1, signed, close] = pointer.body.split("\n");
      expect(line1).toBe('{"signatures":[],"signed":');
      expect(close).toBe("}");
      expect(JSON.parse(signed!)).toEqual({
        channel: "stable",
        project: "greenhouse",
        release: "releases/1.0.0.json",
        sha256: (await import("node:crypto")).createHash("sha256").update(v1.bytes).digest("hex"),
        size: v1.bytes.length,
        version: "1.0.0",
      });
      const etag = pointer.headers.etag as string;
      const cached = await inject({
        method: "GET",
        url: "/d/greenhouse/channels/stable.json",
        headers: { ...dev, "if-none-match": etag },
      });
      expect(cached.statusCode).toBe(304);
      const envelope = await inject({
        method: "GET",
        url: "/d/greenhouse/releases/1.0.0.json",
        headers: dev,
      });
      expect(envelope.rawPayload.equals(v1.bytes)).toBe(true);
      expect(envelope.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    });

    it("serves blobs and patches with ETag, 304 and Range", async () => {
      const dev = await provision("dev-blob");
      const [name, bytes] = [...v1.blobs.entries()][0]!;
      const url = `/d/greenhouse/blobs/${name}`;
      const whole = await inject({ method: "GET", url, headers: dev });
      expect(whole.statusCode).toBe(200);
      expect(whole.rawPayload.equals(bytes)).toBe(true);
      expect(whole.headers.etag).toBe(`"${name.slice(0, 64)}"`);
      expect(whole.headers["accept-ranges"]).toBe("bytes");
      expect(
        (
          await inject({
            method: "GET",
            url,
            headers: { ...dev, "if-none-match": whole.headers.etag as string },
          })
        ).statusCode,
      ).toBe(304);
      const part = await inject({ method: "GET", url, headers: { ...dev, range: "bytes=2-5" } });
      expect(part.statusCode).toBe(206);
      expect(part.headers["content-range"]).toBe(`bytes 2-5/${bytes.length}`);
      expect(part.rawPayload.equals(bytes.subarray(2, 6))).toBe(true);
      const tail = await inject({ method: "GET", url, headers: { ...dev, range: "bytes=-3" } });
      expect(tail.rawPayload.equals(bytes.subarray(bytes.length - 3))).toBe(true);
      const beyond = await inject({
        method: "GET",
        url,
        headers: { ...dev, range: `bytes=${bytes.length}-` },
      });
      expect(beyond.statusCode).toBe(416);
      expect(beyond.headers["content-range"]).toBe(`bytes */${bytes.length}`);
      const [patchName, patch] = [...v2.patches.entries()][0]!;
      const patchRes = await inject({
        method: "GET",
        url: `/d/greenhouse/patches/${patchName}`,
        headers: dev,
      });
      expect(patchRes.rawPayload.equals(patch)).toBe(true);
      expect(
        (await inject({ method: "GET", url: `/d/greenhouse/blobs/${"a".repeat(64)}.z`, headers: dev }))
          .statusCode,
      ).toBe(404);
      // content-addressed files need no token; envelopes and pointers do
      expect((await inject({ method: "GET", url })).rawPayload.equals(bytes)).toBe(true);
      expect((await inject({ method: "GET", url: "/d/greenhouse/releases/1.0.0.json" })).statusCode).toBe(
        401,
      );
    });

    it("refuses missing, wrong, other-project, pending and revoked device credentials", async () => {
      const dev = await provision("dev-auth");
      const url = "/d/greenhouse/channels/stable.json";
      const noToken = await inject({ method: "GET", url, headers: { "x-mpota-device": "dev-auth" } });
      expect(noToken.statusCode).toBe(401);
      const noId = await inject({ method: "GET", url, headers: { authorization: dev.authorization! } });
      expect(noId.statusCode).toBe(401);
      expect(noId.json().error).toMatch(/X-Mpota-Device/);
      const otherId = await inject({ method: "GET", url, headers: { ...dev, "x-mpota-device": "dev-1" } });
      expect(otherId.statusCode).toBe(401);
      const otherProject = await inject({
        method: "GET",
        url: "/d/other/channels/stable.json",
        headers: dev,
      });
      expect(otherProject.statusCode).toBe(403);
      const otherBlob = await inject({
        method: "GET",
        url: `/d/other/blobs/${[...v1.blobs.keys()][0]}`,
        headers: dev,
      });
      expect(otherBlob.statusCode).toBe(403);
      expect(
        (await api("PATCH", "/projects/greenhouse/devices/dev-auth", { status: "revoked" })).statusCode,
      ).toBe(200);
      const revoked = await inject({ method: "GET", url, headers: dev });
      expect(revoked.statusCode).toBe(401);
      expect(revoked.json().error).toBe("device is revoked");
      expect(
        (await api("PATCH", "/projects/greenhouse/devices/dev-auth", { status: "active" })).statusCode,
      ).toBe(409);
      expect((await api("PATCH", "/projects/greenhouse/devices/dev-auth", {})).statusCode).toBe(400);
      expect((await api("PATCH", "/projects/greenhouse/devices/nobody", { tags: [] })).statusCode).toBe(404);
    });

    it("enrols devices with the project token: pending until accepted, or accepted at once", async () => {
      const closed = await inject({
        method: "POST",
        url: "/d/greenhouse/enrol",
        payload: { deviceId: "e1", token: "mpe_x" },
      });
      expect(closed.statusCode).toBe(401);
      const { token } = (await api("POST", "/projects/greenhouse/enrolment-token")).json();
      const enrol = await inject({
        method: "POST",
        url: "/d/greenhouse/enrol",
        payload: { deviceId: "e1", token },
      });
      expect(enrol.statusCode).toBe(201);
      expect(enrol.json().status).toBe("pending");
      const again = await inject({
        method: "POST",
        url: "/d/greenhouse/enrol",
        payload: { deviceId: "e1", token },
      });
      expect(again.statusCode).toBe(409);
      const dev = deviceHeaders("e1", enrol.json().token);
      const pending = await inject({
        method: "GET",
        url: "/d/greenhouse/channels/stable.json",
        headers: dev,
      });
      expect(pending.statusCode).toBe(403);
      expect(pending.json().error).toMatch(/waiting for approval/);
      expect(
        (await api("GET", "/projects/greenhouse/devices?status=pending"))
          .json()
          .devices.map((d: { id: string }) => d.id),
      ).toEqual(["e1"]);
      await api("PATCH", "/projects/greenhouse/devices/e1", { status: "active" });
      expect(
        (await inject({ method: "GET", url: "/d/greenhouse/channels/stable.json", headers: dev })).statusCode,
      ).toBe(200);
      await api("PATCH", "/projects/greenhouse", { autoAccept: true });
      const auto = await inject({
        method: "POST",
        url: "/d/greenhouse/enrol",
        payload: { deviceId: "e2", token },
      });
      expect(auto.json().status).toBe("active");
      const bad = await inject({
        method: "POST",
        url: "/d/greenhouse/enrol",
        payload: { deviceId: "bad id!", token },
      });
      expect(bad.statusCode).toBe(400);
    });

    it("records check-ins in batches and turns them into events", async () => {
      const dev = await provision("dev-seen");
      await inject({
        method: "GET",
        url: "/d/greenhouse/channels/stable.json?version=1.0.0&state=trial",
        headers: dev,
      });
      const before = (await api("GET", "/projects/greenhouse/devices/dev-seen")).json();
      expect(before.lastSeen).toBeNull();
      await s.flush();
      const after = (await api("GET", "/projects/greenhouse/devices/dev-seen")).json();
      expect(after).toMatchObject({ version: "1.0.0", state: "trial" });
      expect(after.lastSeen).not.toBeNull();
      expect(after.events.map((e: { event: string }) => e.event)).toEqual(["trial"]);
      const bad = await inject({
        method: "GET",
        url: "/d/greenhouse/channels/stable.json?state=broken",
        headers: dev,
      });
      expect(bad.statusCode).toBe(400);
      const extra = await inject({
        method: "GET",
        url: "/d/greenhouse/channels/stable.json?colour=red",
        headers: dev,
      });
      expect(extra.statusCode).toBe(400);
      expect(
        (await inject({ method: "GET", url: "/d/greenhouse/channels/nope.json", headers: dev })).statusCode,
      ).toBe(404);
    });

    it("takes reports once, whatever the repeats", async () => {
      const dev = await provision("dev-rep");
      const report = { version: "1.1.0", event: "failed", error: "ImportError: no module named x" };
      for (let i = 0; i < 3; i++) {
        const res = await inject({
          method: "POST",
          url: "/d/greenhouse/reports",
          headers: dev,
          payload: report,
        });
        expect(res.statusCode).toBe(204);
      }
      const events = (await api("GET", "/projects/greenhouse/devices/dev-rep")).json().events;
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ version: "1.1.0", event: "failed", error: report.error });
      const bad = await inject({
        method: "POST",
        url: "/d/greenhouse/reports",
        headers: dev,
        payload: { version: "1.1.0", event: "exploded" },
      });
      expect(bad.statusCode).toBe(400);
      const badJson = await inject({
        method: "POST",
        url: "/d/greenhouse/reports",
        headers: { ...dev, "content-type": "application/json" },
        payload: "{",
      });
      expect(badJson.statusCode).toBe(400);
    });

    it("lists devices by tag and pins a device or a tag to a version", async () => {
      const dev = await provision("dev-pin", { tags: ["field_a"] });
      const check = async () =>
        JSON.parse(
          (
            await inject({ method: "GET", url: "/d/greenhouse/channels/stable.json", headers: dev })
          ).body.split("\n")[1]!,
        ).version;
      expect(await check()).toBe("1.0.0");
      expect((await api("PUT", "/projects/greenhouse/pins/field_a", { version: "1.1.0" })).statusCode).toBe(
        200,
      );
      expect(await check()).toBe("1.1.0");
      await api("PATCH", "/projects/greenhouse/devices/dev-pin", { pin: "1.0.0" });
      expect(await check()).toBe("1.0.0");
      await api("PATCH", "/projects/greenhouse/devices/dev-pin", { pin: null });
      expect((await api("DELETE", "/projects/greenhouse/pins/field_a")).statusCode).toBe(204);
      expect(await check()).toBe("1.0.0");
      expect((await api("PUT", "/projects/greenhouse/pins/field_a", { version: "5.0.0" })).statusCode).toBe(
        404,
      );
      const tagged = (await api("GET", "/projects/greenhouse/devices?tag=field_a")).json();
      expect(tagged.devices.map((d: { id: string }) => d.id)).toEqual(["dev-pin"]);
      expect((await api("GET", "/projects/greenhouse/devices?tag=fieldXa")).json().total).toBe(0);
      expect((await api("GET", "/projects/greenhouse/devices?limit=ten")).statusCode).toBe(400);
    });
  });

  describe("overload", () => {
    it("answers a device that checks in too often with 429 and Retry-After", async () => {
      const limited = await startTestServer(dialect, { limits: { checkinIntervalMs: 60_000 } });
      try {
        const headers = { authorization: `Bearer ${limited.adminToken}` };
        await limited.app.inject({
          method: "POST",
          url: "/api/v1/projects",
          headers,
          payload: { name: "p" },
        });
        const dev = (
          await limited.app.inject({
            method: "POST",
            url: "/api/v1/projects/p/devices",
            headers,
            payload: { id: "d" },
          })
        ).json();
        const h = deviceHeaders("d", dev.token);
        expect(
          (await limited.app.inject({ method: "GET", url: "/d/p/channels/stable.json", headers: h }))
            .statusCode,
        ).toBe(404);
        const second = await limited.app.inject({
          method: "GET",
          url: "/d/p/channels/stable.json",
          headers: h,
        });
        expect(second.statusCode).toBe(429);
        expect(Number(second.headers["retry-after"])).toBeGreaterThan(50);
      } finally {
        await limited.close();
      }
    });

    it("answers 503 with Retry-After past the concurrency limit", async () => {
      const busy = await startTestServer(dialect, { limits: { maxConcurrent: 0 } });
      try {
        const res = await busy.app.inject({ method: "GET", url: "/d/p/channels/stable.json" });
        expect(res.statusCode).toBe(503);
        expect(res.headers["retry-after"]).toBe("5");
      } finally {
        await busy.close();
      }
    });
  });

  describe("audit and status", () => {
    it("logs every change with its actor, never a secret", async () => {
      const entries = (await api("GET", "/audit?project=greenhouse&limit=1000")).json().entries;
      const actions = new Set(entries.map((e: { action: string }) => e.action));
      for (const action of [
        "project.create",
        "key.add",
        "release.publish",
        "channel.set",
        "device.provision",
        "device.update",
        "device.enrol",
        "pin.tag",
      ])
        expect(actions, action).toContain(action);
      expect(entries.find((e: { action: string }) => e.action === "release.publish").actor).toBe(
        "token:bootstrap",
      );
      expect(JSON.stringify(entries)).not.toMatch(/mp[dae]_/);
    });

    it("serves the dashboard's page and a health check", async () => {
      const page = await inject({ method: "GET", url: "/" });
      expect(page.statusCode).toBe(200);
      expect(page.headers["content-type"]).toMatch(/text\/html/);
      expect(page.headers["content-security-policy"]).toMatch(/default-src 'self'/);
      expect(page.body).toContain("<title>mpota update server</title>");
      expect((await inject({ method: "GET", url: "/healthz" })).json()).toMatchObject({
        ok: true,
        deviceRequests: 0,
        maxConcurrent: 512,
      });
      expect((await inject({ method: "GET", url: "/nope" })).statusCode).toBe(404);
    });
  });

  describe("the remaining admin routes", () => {
    it("removes keys, and a release signed only by a removed key is refused", async () => {
      const second = testKey();
      expect(
        (await api("POST", "/projects/greenhouse/keys", { publicKey: second.publicKeyHex })).statusCode,
      ).toBe(201);
      expect((await api("DELETE", `/projects/greenhouse/keys/${second.keyId}`)).statusCode).toBe(204);
      expect((await api("DELETE", `/projects/greenhouse/keys/${second.keyId}`)).statusCode).toBe(404);
      expect((await api("DELETE", "/projects/greenhouse/keys/xyz")).statusCode).toBe(400);
      const signedByRemoved = testRelease("greenhouse", "3.0.0", { "main.py": "x\n" }, second);
      const res = await api("POST", "/projects/greenhouse/releases/plan", signedByRemoved.envelope);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/not a trusted key/);
      expect((await api("GET", "/projects/nope")).statusCode).toBe(404);
      expect((await api("GET", "/projects/Bad!")).statusCode).toBe(400);
    });

    it("closes enrolment and reissues a device token (the old one stops working)", async () => {
      const { token } = (await api("POST", "/projects/greenhouse/enrolment-token")).json();
      expect((await api("DELETE", "/projects/greenhouse/enrolment-token")).statusCode).toBe(204);
      const closed = await inject({
        method: "POST",
        url: "/d/greenhouse/enrol",
        payload: { deviceId: "late", token },
      });
      expect(closed.statusCode).toBe(401);
      const old = await provision("dev-reissue");
      const fresh = await api("POST", "/projects/greenhouse/devices/dev-reissue/token");
      expect(fresh.statusCode).toBe(201);
      const url = "/d/greenhouse/channels/stable.json";
      expect((await inject({ method: "GET", url, headers: old })).statusCode).toBe(401);
      const renewed = deviceHeaders("dev-reissue", fresh.json().token);
      expect((await inject({ method: "GET", url, headers: renewed })).statusCode).toBe(200);
      expect((await api("POST", "/projects/greenhouse/devices/nobody/token")).statusCode).toBe(404);
      const duplicate = await api("POST", "/projects/greenhouse/devices", { id: "dev-reissue" });
      expect(duplicate.statusCode).toBe(409);
    });

    it("creates and deletes admin tokens, never its own", async () => {
      expect((await api("POST", "/tokens", { name: "ci", role: "root" })).statusCode).toBe(400);
      const ci = (await api("POST", "/tokens", { name: "ci", role: "admin" })).json();
      const ciHeaders = { authorization: `Bearer ${ci.token}` };
      const self = await inject({ method: "DELETE", url: `/api/v1/tokens/${ci.id}`, headers: ciHeaders });
      expect(self.statusCode).toBe(409);
      expect((await api("DELETE", `/tokens/${ci.id}`)).statusCode).toBe(204);
      expect((await inject({ method: "GET", url: "/api/v1/projects", headers: ciHeaders })).statusCode).toBe(
        401,
      );
      expect((await api("DELETE", `/tokens/${ci.id}`)).statusCode).toBe(404);
      expect((await api("GET", "/audit?limit=-1")).statusCode).toBe(400);
      const audit = (await api("GET", "/audit?limit=5")).json().entries;
      expect(audit.map((e: { action: string }) => e.action)).toContain("token.delete");
    });
  });
});
