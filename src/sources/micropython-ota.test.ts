import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { serveMicropythonOta } from "../../testing/micropython-ota-server.ts";
import { writeMicropythonOta } from "./micropython-ota.ts";

const root = mkdtempSync(join(tmpdir(), "mpota-mota-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("micropython_ota layout", () => {
  it("writes <project>/version and <version>_<file> (or <version>/<file>)", () => {
    const written = writeMicropythonOta(root, {
      project: "sample",
      version: "v1.0.1",
      files: { "main.py": "print(1)\n", "lib/util.py": "U\n" },
    });
    expect(written).toEqual(["sample/v1.0.1_lib/util.py", "sample/v1.0.1_main.py", "sample/version"]);
    expect(readFileSync(join(root, "sample", "version"), "utf8")).toBe("v1.0.1\n");
    writeMicropythonOta(root, {
      project: "plain",
      version: "v2",
      files: { "main.py": "x" },
      useVersionPrefix: false,
    });
    expect(readFileSync(join(root, "plain", "v2", "main.py"), "utf8")).toBe("x");
  });

  it("refuses a version tag or a file name that would leave the folder", () => {
    expect(() => writeMicropythonOta(root, { project: "p", version: "../x", files: {} })).toThrow(
      /version tag/,
    );
    expect(() =>
      writeMicropythonOta(root, { project: "p", version: "v1", files: { "../x.py": "" } }),
    ).toThrow(/relative path/);
  });

  it("serves the folder with Basic auth, ETag and 404", async () => {
    const server = await serveMicropythonOta(root, { user: "dev", passwd: "pw" });
    try {
      expect((await fetch(`${server.url}/sample/version`)).status).toBe(401);
      const auth = { authorization: `Basic ${Buffer.from("dev:pw").toString("base64")}` };
      const r = await fetch(`${server.url}/sample/version`, { headers: auth });
      expect(await r.text()).toBe("v1.0.1\n");
      const again = await fetch(`${server.url}/sample/version`, {
        headers: { ...auth, "if-none-match": r.headers.get("etag")! },
      });
      expect(again.status).toBe(304);
      expect((await fetch(`${server.url}/sample/v9_main.py`, { headers: auth })).status).toBe(404);
      expect((await fetch(`${server.url}/../etc/passwd`, { headers: auth })).status).toBe(404);
      expect(server.requests.map((q) => q.status)).toEqual([401, 200, 304, 404, 404]);
    } finally {
      await server.close();
    }
  });
});
