/**
 * The demo's setup on a real server (SQLite in a temp folder), run twice on one data folder with a
 * server restart between: one project, the same key, boards and tokens; secrets in 0600 files.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AdminClient } from "../server/admin-client.ts";
import { serve } from "../server/serve.ts";
import { demoAdminClient } from "./admin-token.ts";
import { DemoFiles } from "./files.ts";
import { setupDemo } from "./setup.ts";

const data = mkdtempSync(join(tmpdir(), "mpota-fleet-setup-"));
afterAll(() => rmSync(data, { recursive: true, force: true }));

async function setUpOnce(boards: number) {
  const server = await serve({ port: 0, host: "127.0.0.1", data });
  try {
    const files = new DemoFiles(data);
    const client = await demoAdminClient(server.url, join(data, "mpota.db"), files);
    const said: string[] = [];
    const setup = await setupDemo({ client, files, boards, say: (line) => said.push(line) });
    const project = await client.request<{ keys: unknown[]; channels: unknown[] }>(
      "GET",
      "/projects/greenhouse",
    );
    const { projects } = await client.request<{ projects: Array<{ name: string }> }>("GET", "/projects");
    const { releases } = await client.request<{ releases: Array<{ version: string }> }>(
      "GET",
      "/projects/greenhouse/releases",
    );
    const { devices } = await client.request<{ devices: Array<{ id: string; status: string }> }>(
      "GET",
      "/projects/greenhouse/devices",
    );
    return { setup, said, project, projects, releases, devices, server, files };
  } finally {
    await server.close();
  }
}

const mode = (file: string) => statSync(file).mode & 0o777;

describe("the demo setup", () => {
  it("makes the project once and reuses its key, boards and tokens on the next start", async () => {
    const first = await setUpOnce(3);
    expect(first.server.adminToken).toMatch(/^mpa_/);
    expect(first.said).toEqual([
      expect.stringMatching(/^made the demo's release signing key .*release-key\.pem$/),
      "created project greenhouse",
      "published releases 1.0.0, 1.1.0 of the example app",
      "channel stable -> 1.0.0",
      "provisioned 3 boards with device tokens",
    ]);
    expect(first.setup).toMatchObject({ current: "1.0.0", next: "1.1.0" });
    expect(first.setup.boards.map((b) => b.id)).toEqual(["greenhouse-01", "greenhouse-02", "greenhouse-03"]);
    expect(first.project.keys).toEqual([
      { keyid: first.setup.key.keyId, publicKey: first.setup.key.publicKeyHex },
    ]);
    for (const name of ["release-key.pem", "admin-token", "boards.json"])
      expect(mode(join(data, "demo", name)), name).toBe(0o600);
    const adminToken = readFileSync(join(data, "demo", "admin-token"), "utf8").trim();
    // the demo's own token, not the operator's first one
    expect(adminToken).not.toBe(first.server.adminToken);

    const second = await setUpOnce(3);
    expect(second.server.adminToken).toBeUndefined();
    const reusing = "found project greenhouse from an earlier run: reusing its key, releases and boards";
    expect(second.said).toEqual([reusing]);
    expect(second.projects.map((p) => p.name)).toEqual(["greenhouse"]);
    expect(second.releases.map((r) => r.version).sort()).toEqual(["1.0.0", "1.1.0"]);
    expect(second.devices.map((d) => d.id)).toEqual(["greenhouse-01", "greenhouse-02", "greenhouse-03"]);
    expect(second.setup.boards).toEqual(first.setup.boards);
    expect(second.setup.key.keyId).toBe(first.setup.key.keyId);
    expect(second.setup).toMatchObject({ current: "1.0.0", next: "1.1.0" });
    expect(readFileSync(join(data, "demo", "admin-token"), "utf8").trim()).toBe(adminToken);

    // One more board: only it is provisioned; the others keep their tokens.
    const third = await setUpOnce(4);
    expect(third.said).toEqual([reusing, "provisioned 1 board with device tokens"]);
    expect(third.setup.boards.slice(0, 3)).toEqual(first.setup.boards);
    expect(third.devices).toHaveLength(4);
  });

  it("leaves alone a project of the same name that the demo did not make", async () => {
    const other = mkdtempSync(join(tmpdir(), "mpota-fleet-other-"));
    const server = await serve({ port: 0, host: "127.0.0.1", data: other });
    try {
      const operator = new AdminClient(server.url, server.adminToken!);
      await operator.request("POST", "/projects", { name: "greenhouse" });
      await operator.request("POST", "/projects/greenhouse/keys", { publicKey: "ab".repeat(32) });
      const files = new DemoFiles(other);
      const client = await demoAdminClient(server.url, join(other, "mpota.db"), files);
      await expect(setupDemo({ client, files, boards: 1, say: () => {} })).rejects.toThrow(
        /already has a project "greenhouse" that the demo did not make; run the demo with another --data/,
      );
      const { devices } = await operator.request<{ devices: unknown[] }>(
        "GET",
        "/projects/greenhouse/devices",
      );
      expect(devices).toEqual([]);
    } finally {
      await server.close();
      rmSync(other, { recursive: true, force: true });
    }
  });
});
