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
    const server = await serveStatic(site, (r) => served.push(r));
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
      expect(served.slice(0, 3)).toEqual([
        { path: "/p/channels/stable.json", status: 200, bytes: 13 },
        { path: "/p/channels/stable.json", status: 304, bytes: 0 },
        { path: "/p/releases/1.0.0.json", status: 404, bytes: 0 },
      ]);
      expect(server.requests).toHaveLength(5);
    } finally {
      await server.close();
    }
  });
});
