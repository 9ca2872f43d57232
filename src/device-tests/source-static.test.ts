/**
 * The whole publishing path against the real device client: releases built by src/release, published
 * by publishStatic with a signed, expiring pointer, served on loopback, installed by a virtual board.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  bundledBoard,
  printed,
  runCommand,
  sameTree,
  serveStatic,
  slotTree,
  testApp,
} from "../../testing/board.ts";
import { generateKeyPair } from "../manifest/index.ts";
import { buildRelease } from "../release/index.ts";
import { VirtualDevice } from "../sim/index.ts";
import { publishStatic } from "../static/publish.ts";
import { openStore } from "../store/index.ts";

function folder(tree: Record<string, Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), "mpota-app-"));
  for (const [path, data] of Object.entries(tree)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
  return dir;
}

describe("a board updating from a site written by publishStatic", () => {
  it("installs the release the signed channel pointer names", async () => {
    const key = generateKeyPair();
    const store = openStore(mkdtempSync(join(tmpdir(), "mpota-store-")));
    const site = mkdtempSync(join(tmpdir(), "mpota-site-"));
    const v100 = testApp("1.0.0", { "lib/sensors/temp.py": "OFFSET = 1\n", "old.py": "x = 1\n" });
    const v110 = testApp("1.1.0", {
      "lib/sensors/temp.py": "OFFSET = 2\n",
      "lib/new/deep/mod.py": "Y = 2\n",
    });
    for (const [version, tree] of [
      ["1.0.0", v100],
      ["1.1.0", v110],
    ] as const) {
      await buildRelease({ dir: folder(tree), project: "greenhouse", version, key, store });
    }
    const expires = new Date(Date.now() + 86_400_000);
    publishStatic({ site, store, project: "greenhouse", version: "1.0.0", channel: "stable", key, expires });
    publishStatic({ site, store, project: "greenhouse", version: "1.1.0", channel: "stable", key, expires });
    const server = await serveStatic(site);
    const config = {
      project: "greenhouse",
      keys: [key.publicKeyHex],
      source: { type: "static", url: `${server.url}/`, channel: "stable" },
    };
    const device = new VirtualDevice({ files: bundledBoard(site, config, "1.0.0") });
    try {
      const r = await runCommand(device, "update");
      expect(r.output).toContain("running 1.0.0");
      expect(r.output).toContain("running 1.1.0");
      expect(printed(r.output, "status")).toMatchObject({ version: "1.1.0", state: "trial" });
      expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
      expect(server.requests).toContain("/greenhouse/channels/stable.up");
    } finally {
      await device.close();
      await server.close();
    }
  });
});
