/**
 * What the dashboard needs from the admin API, on SQLite and PostgreSQL: sessions (cookie, CSRF,
 * roles, sign-out, a deleted token), the fleet overview, device search with keyset paging, a
 * release in detail, and the live event stream on a real socket.
 */
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDialects } from "../../testing/db.ts";
import {
  startTestServer,
  type TestKey,
  type TestServer,
  testKey,
  testProject,
  testRelease,
} from "../../testing/server.ts";
import { AdminClient, publishRelease } from "./admin-client.ts";

describe.each(testDialects)("dashboard API (%s)", (dialect) => {
  let s: TestServer;
  let key: TestKey;
  let admin: Record<string, string>;
  let url: string;
  const inject = (opts: InjectOptions) => s.app.inject(opts);
  const api = (method: InjectOptions["method"], path: string, payload?: unknown) =>
    inject({
      method,
      url: `/api/v1${path}`,
      headers: admin,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const signIn = async (token: string) => {
    const res = await inject({ method: "POST", url: "/api/v1/session", payload: { token } });
    expect(res.statusCode, res.body).toBe(200);
    const cookie = String(res.headers["set-cookie"]).split(";")[0]!;
    return { cookie, csrf: res.json().csrf as string, setCookie: String(res.headers["set-cookie"]) };
  };
  const deviceToken = new Map<string, string>();
  const checkIn = (id: string, query: string) =>
    inject({
      method: "GET",
      url: `/d/greenhouse/channels/stable.json?${query}`,
      headers: { authorization: `Bearer ${deviceToken.get(id)}`, "x-mpota-device": id },
    });

  beforeAll(async () => {
    s = await startTestServer(dialect, { limits: { checkinIntervalMs: 0 }, liveIntervalMs: 100 });
    admin = { authorization: `Bearer ${s.adminToken}` };
    url = await s.app.listen({ port: 0, host: "127.0.0.1" });
    key = testKey();
    const client = new AdminClient(url, s.adminToken);
    // lines that do not compress to nothing, so a patch is worth its while
    const util = Array.from({ length: 200 }, (_, i) => `X${i} = ${(i * 7919) % 1009}\n`).join("");
    const files1 = { "main.py": "print('v1')\n", "lib/util.py": util };
    const files2 = { "main.py": "print('v2')\n", "lib/util.py": `${util}Y = 2\n` };
    await testProject(client, "greenhouse", key, "1.0.0", files1);
    await publishRelease(client, testRelease("greenhouse", "1.1.0", files2, key, { from: files1 }).files, {
      project: "greenhouse",
    });
  });
  afterAll(async () => s?.close());

  describe("sessions", () => {
    it("turns a token into an httpOnly SameSite=Strict cookie; a wrong token gets none", async () => {
      const wrong = await inject({ method: "POST", url: "/api/v1/session", payload: { token: "mpa_wrong" } });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error).toBe("unknown admin token");
      expect(wrong.headers["set-cookie"]).toBeUndefined();
      const { cookie, csrf, setCookie } = await signIn(s.adminToken);
      expect(setCookie).toMatch(
        /^mpota_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
      );
      expect(setCookie).not.toContain(s.adminToken);
      const me = await inject({ method: "GET", url: "/api/v1/session", headers: { cookie } });
      expect(me.json()).toEqual({ name: "bootstrap", role: "admin", csrf });
      const projects = await inject({ method: "GET", url: "/api/v1/projects", headers: { cookie } });
      expect(projects.statusCode).toBe(200);
      expect(projects.json().projects[0].name).toBe("greenhouse");
      // a form post from another site cannot send JSON, and the session is not a bearer token
      const form = await inject({
        method: "POST",
        url: "/api/v1/session",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: `token=${s.adminToken}`,
      });
      expect(form.statusCode).toBe(415);
    });

    it("refuses a session's write without its CSRF header, and takes it with it", async () => {
      const { cookie, csrf } = await signIn(s.adminToken);
      const body = { name: "csrf-check", role: "read-only" };
      const without = await inject({
        method: "POST",
        url: "/api/v1/tokens",
        headers: { cookie },
        payload: body,
      });
      expect(without.statusCode).toBe(403);
      expect(without.json().error).toMatch(/x-mpota-csrf/);
      const other = await signIn(s.adminToken);
      const wrong = await inject({
        method: "POST",
        url: "/api/v1/tokens",
        headers: { cookie, "x-mpota-csrf": other.csrf },
        payload: body,
      });
      expect(wrong.statusCode).toBe(403);
      const right = await inject({
        method: "POST",
        url: "/api/v1/tokens",
        headers: { cookie, "x-mpota-csrf": csrf },
        payload: body,
      });
      expect(right.statusCode, right.body).toBe(201);
      const audit = (await api("GET", "/audit?limit=5")).json().entries;
      expect(audit[0]).toMatchObject({ action: "token.create", actor: "token:bootstrap" });
    });

    it("gives a read-only token a read-only session: reads yes, writes 403 even with the header", async () => {
      const viewer = (await api("POST", "/tokens", { name: "viewer", role: "read-only" })).json();
      const { cookie, csrf } = await signIn(viewer.token);
      const me = await inject({ method: "GET", url: "/api/v1/session", headers: { cookie } });
      expect(me.json()).toMatchObject({ name: "viewer", role: "read-only" });
      expect((await inject({ method: "GET", url: "/api/v1/tokens", headers: { cookie } })).statusCode).toBe(
        200,
      );
      const write = await inject({
        method: "PUT",
        url: "/api/v1/projects/greenhouse/channels/beta",
        headers: { cookie, "x-mpota-csrf": csrf },
        payload: { version: "1.0.0" },
      });
      expect(write.statusCode).toBe(403);
      expect(write.json().error).toBe('token "viewer" is read-only');
    });

    it("signs out (CSRF header needed), ends sessions of a deleted token, and forgets expired ones", async () => {
      const { cookie, csrf } = await signIn(s.adminToken);
      const forged = await inject({ method: "DELETE", url: "/api/v1/session", headers: { cookie } });
      expect(forged.statusCode).toBe(403);
      const out = await inject({
        method: "DELETE",
        url: "/api/v1/session",
        headers: { cookie, "x-mpota-csrf": csrf },
      });
      expect(out.statusCode).toBe(204);
      expect(String(out.headers["set-cookie"])).toMatch(/^mpota_session=; .*Max-Age=0/);
      expect((await inject({ method: "GET", url: "/api/v1/projects", headers: { cookie } })).statusCode).toBe(
        401,
      );

      const temp = (await api("POST", "/tokens", { name: "temp", role: "admin" })).json();
      const tempSession = await signIn(temp.token);
      expect((await api("DELETE", `/tokens/${temp.id}`)).statusCode).toBe(204);
      const gone = await inject({
        method: "GET",
        url: "/api/v1/projects",
        headers: { cookie: tempSession.cookie },
      });
      expect(gone.statusCode).toBe(401);

      const old = await signIn(s.adminToken);
      await s.ctx.db.kysely
        .updateTable("sessions")
        .set({ expires_at: Date.now() - 1 })
        .execute();
      const expired = await inject({
        method: "GET",
        url: "/api/v1/session",
        headers: { cookie: old.cookie },
      });
      expect(expired.statusCode).toBe(401);
    });
  });

  describe("fleet data", () => {
    beforeAll(async () => {
      for (let i = 0; i < 25; i++) {
        const id = `board-${String(i).padStart(2, "0")}`;
        const tags = i % 5 === 0 ? ["north", "gh_1"] : ["south"];
        const res = await api("POST", "/projects/greenhouse/devices", { id, tags });
        deviceToken.set(id, res.json().token);
        // boards 20..24 never check in; 15..19 run 1.1.0 on trial; the rest 1.0.0, good
        if (i < 15) expect((await checkIn(id, "version=1.0.0&state=good")).statusCode).toBe(200);
        else if (i < 20) expect((await checkIn(id, "version=1.1.0&state=trial")).statusCode).toBe(200);
      }
      const failing = {
        authorization: `Bearer ${deviceToken.get("board-03")}`,
        "x-mpota-device": "board-03",
      };
      const report = await inject({
        method: "POST",
        url: "/d/greenhouse/reports",
        headers: failing,
        payload: { version: "1.1.0", event: "failed", error: "main.py: ImportError: no module named 'x'" },
      });
      expect(report.statusCode).toBe(204);
      await s.flush();
    });

    it("sums the fleet up: statuses, releases and states, silent devices, per-minute charts", async () => {
      const res = await api("GET", "/projects/greenhouse/overview");
      expect(res.statusCode, res.body).toBe(200);
      const o = res.json();
      expect(o.devices).toEqual({ total: 25, pending: 0, active: 25, revoked: 0, seenLastHour: 20 });
      expect(o.running).toEqual([
        { version: "1.0.0", state: "good", devices: 15 },
        { version: "1.1.0", state: "trial", devices: 5 },
        { version: null, state: null, devices: 5 },
      ]);
      expect(o.channels).toEqual([{ name: "stable", version: "1.0.0", rollout: null }]);
      expect(o.stale.total).toBe(5);
      expect(o.stale.devices.map((d: { id: string }) => d.id)).toEqual([
        "board-20",
        "board-21",
        "board-22",
        "board-23",
        "board-24",
      ]);
      expect(o.timeline.checkins).toHaveLength(60);
      expect(o.timeline.checkins.reduce((a: number, b: number) => a + b, 0)).toBe(20);
      expect(o.timeline.failures.reduce((a: number, b: number) => a + b, 0)).toBe(1);
      expect((await api("GET", "/projects/nope/overview")).statusCode).toBe(404);
    });

    it("finds devices by id, tag, release, state, status and last seen, paging by id", async () => {
      const ids = async (query: string) => {
        const res = await api("GET", `/projects/greenhouse/devices?${query}`);
        expect(res.statusCode, res.body).toBe(200);
        return res.json() as { total: number; devices: { id: string }[]; next: string | null };
      };
      expect((await ids("q=RD-1")).devices.map((d) => d.id)).toEqual(
        Array.from({ length: 10 }, (_, i) => `board-1${i}`),
      );
      expect((await ids("tag=gh_1")).total).toBe(5);
      expect((await ids("tag=gh")).total).toBe(0);
      expect((await ids("version=1.1.0")).total).toBe(5);
      expect((await ids("version=none")).total).toBe(5);
      expect((await ids("state=trial&tag=north")).devices.map((d) => d.id)).toEqual(["board-15"]);
      expect((await ids("seenWithin=60")).total).toBe(20);
      expect((await ids("notSeenFor=60")).total).toBe(5);
      expect((await ids("status=pending")).total).toBe(0);
      const walked: string[] = [];
      let after: string | null = null;
      do {
        const page: { total: number; devices: { id: string }[]; next: string | null } = await ids(
          `limit=7${after ? `&after=${after}` : ""}`,
        );
        expect(page.total).toBe(25);
        walked.push(...page.devices.map((d) => d.id));
        after = page.next;
      } while (after);
      expect(walked).toEqual([...deviceToken.keys()]);
      expect((await api("GET", "/projects/greenhouse/devices?q=a%25")).statusCode).toBe(400);
      expect((await api("GET", "/projects/greenhouse/devices?seenWithin=soon")).statusCode).toBe(400);
    });

    it("shows a device's timeline with its last error", async () => {
      const d = (await api("GET", "/projects/greenhouse/devices/board-03")).json();
      expect(d.events.map((e: { event: string }) => e.event)).toEqual(["failed", "confirmed"]);
      expect(d.events[0]).toMatchObject({
        version: "1.1.0",
        error: "main.py: ImportError: no module named 'x'",
      });
      expect(d.events[1]).toMatchObject({ version: "1.0.0", error: null });
      expect(d.tags).toEqual(["south"]);
    });

    it("shows a release's files, patches, keys and what patches save from the release before", async () => {
      const res = await api("GET", "/projects/greenhouse/releases/1.1.0");
      expect(res.statusCode, res.body).toBe(200);
      const r = res.json();
      expect(r.keyIds).toEqual([key.keyId]);
      expect(r.previous).toBe("1.0.0");
      expect(r.files.map((f: { path: string }) => f.path).sort()).toEqual(["lib/util.py", "main.py"]);
      const util = r.files.find((f: { path: string }) => f.path === "lib/util.py");
      expect(util.patches).toHaveLength(1);
      expect(util.patches[0].size).toBeLessThan(util.zlib);
      expect(r.patchedBytes).toBeLessThan(r.wholeBytes);
      expect((await api("GET", "/projects/greenhouse/releases/1.0.0")).json().patchedBytes).toBeNull();
      expect((await api("GET", "/projects/greenhouse/releases/9.9.9")).statusCode).toBe(404);
    });
  });

  it("streams changes as server-sent events to a signed-in reader", async () => {
    const refused = await fetch(`${url}/api/v1/live`);
    expect(refused.status).toBe(401);
    const stream = await fetch(`${url}/api/v1/live`, { headers: admin });
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = stream.body!.getReader();
    let text = "";
    const seen = async (pattern: RegExp) => {
      const deadline = Date.now() + 20_000;
      while (!pattern.test(text)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${text}`);
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended:\n${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await seen(/^retry: 2000\n\n/);
    // the feed learns where things stand on its first look; changes after that are told
    await new Promise((r) => setTimeout(r, 300));
    expect(
      (await api("PATCH", "/projects/greenhouse/devices/board-01", { tags: ["moved"] })).statusCode,
    ).toBe(200);
    await seen(/event: change\ndata: \{"topics":\[[^\]]*"audit"[^\]]*\]\}\n\n/);
    expect((await checkIn("board-01", "version=1.1.0&state=trial")).statusCode).toBe(200);
    await s.flush();
    await seen(/data: \{"topics":\[[^\]]*"devices"/);
    await reader.cancel();
  });
});

describe("check-in counts for the fleet chart", () => {
  it("counts check-ins per minute and keeps a day of them", async () => {
    let clock = Date.UTC(2026, 0, 1, 12, 0, 30);
    const s = await startTestServer("sqlite", { now: () => clock, limits: { checkinIntervalMs: 0 } });
    try {
      const headers = { authorization: `Bearer ${s.adminToken}` };
      await s.app.inject({ method: "POST", url: "/api/v1/projects", headers, payload: { name: "p" } });
      const made = await s.app.inject({
        method: "POST",
        url: "/api/v1/projects/p/devices",
        headers,
        payload: { id: "d1" },
      });
      const device = { authorization: `Bearer ${made.json().token}`, "x-mpota-device": "d1" };
      const checkIn = () =>
        s.app.inject({ method: "GET", url: "/d/p/channels/stable.json", headers: device });
      for (let i = 0; i < 3; i++) await checkIn();
      await s.flush();
      await checkIn();
      await s.flush();
      const counts = () =>
        s.ctx.db.kysely.selectFrom("checkin_counts").select(["minute", "n"]).orderBy("minute").execute();
      expect(await counts()).toEqual([{ minute: Date.UTC(2026, 0, 1, 12, 0), n: 4 }]);
      clock += 25 * 3_600_000;
      await checkIn();
      await s.flush();
      expect(await counts()).toEqual([{ minute: Date.UTC(2026, 0, 2, 13, 0), n: 1 }]);
    } finally {
      await s.close();
    }
  });
});

describe("the live stream on a closing server", () => {
  it("ends open streams, so the server can close", async () => {
    const s = await startTestServer("sqlite", { liveIntervalMs: 100 });
    const url = await s.app.listen({ port: 0, host: "127.0.0.1" });
    const stream = await fetch(`${url}/api/v1/live`, {
      headers: { authorization: `Bearer ${s.adminToken}` },
    });
    const reader = stream.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("retry: 2000\n\n");
    // a stream left open would hold close() up until the test's timeout
    await s.close();
    expect((await reader.read()).done).toBe(true);
  });
});
