import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ServedRequest, serveStatic } from "./serve.ts";

const site = mkdtempSync(join(tmpdir(), "mpota-serve-"));
afterAll(() => rmSync(site, { recursive: true, force: true }));

describe("serveStatic", () => {
  it("answers GET with the file and its ETag, 304 on a match, 404 otherwise, and reports each", async () => {
    mkdirSync(join(site, "p", "channels"), { recursive: true });
    writeFileSync(join(site, "p", "channels", "stable.json"), "pointer bytes");
    const served: ServedRequest[] = [];
    const server = await serveStatic(site, { onServe: (r) => served.push(r) });
    try {
      const first = await fetch(`${server.url}/p/channels/stable.json`);
      expect(first.status).toBe(200);
      expect(await first.text()).toBe("pointer bytes");
      const etag = first.headers.get("etag")!;
      const again = await fetch(`${server.url}/p/channels/stable.json`, {
        headers: { "if-none-match": etag },
      });
      expect(again.status).toBe(304);
      expect((await fetch(`${server.url}/p/releases/1.0.0.json`)).status).toBe(404);
      expect((await fetch(`${server.url}/p/channels`)).status).toBe(404);
      expect((await fetch(`${server.url}/p/channels/stable.json`, { method: "POST" })).status).toBe(404);
      expect(
        served.slice(0, 3).map(({ method, path, status, bytes }) => [method, path, status, bytes]),
      ).toEqual([
        ["GET", "/p/channels/stable.json", 200, 13],
        ["GET", "/p/channels/stable.json", 304, 0],
        ["GET", "/p/releases/1.0.0.json", 404, 14],
      ]);
      expect(served[4]).toMatchObject({ method: "POST", status: 404 });
      expect(server.requests).toHaveLength(5);
    } finally {
      await server.close();
    }
  });

  it("asks for HTTP Basic credentials when given some, and reports who sent them", async () => {
    const served: ServedRequest[] = [];
    const server = await serveStatic(site, {
      basicAuth: { user: "dev", passwd: "pw" },
      onServe: (r) => served.push(r),
    });
    const basic = (user: string) => `Basic ${Buffer.from(`${user}:pw`).toString("base64")}`;
    try {
      const none = await fetch(`${server.url}/p/channels/stable.json?x=1`);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Basic realm="ota"');
      const wrong = await fetch(`${server.url}/p/channels/stable.json`, {
        headers: { authorization: basic("eve") },
      });
      expect(wrong.status).toBe(401);
      const right = await fetch(`${server.url}/p/channels/stable.json`, {
        headers: { authorization: basic("dev") },
      });
      expect(await right.text()).toBe("pointer bytes");
      expect(served.map((r) => [r.url, r.status, r.authorized])).toEqual([
        ["/p/channels/stable.json?x=1", 401, false],
        ["/p/channels/stable.json", 401, true],
        ["/p/channels/stable.json", 200, true],
      ]);
    } finally {
      await server.close();
    }
  });
});
