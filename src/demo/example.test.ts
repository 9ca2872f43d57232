import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodePack } from "../delta/index.ts";
import { generateKeyPair } from "../manifest/index.ts";
import { openStore } from "../store/index.ts";
import { EXAMPLE_PROJECT, exampleMain, exampleRelease } from "./example.ts";

const dir = mkdtempSync(join(tmpdir(), "mpota-example-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("exampleRelease", () => {
  it("builds signed releases of the example app with mpota, delta patches and update packs", async () => {
    const store = openStore(dir);
    const key = generateKeyPair();
    const first = await exampleRelease(store, key, "1.0.0");
    const second = await exampleRelease(store, key, "1.1.0", "dew-point");
    const files = (r: typeof first) => new Map(r.envelope.signed.files.map((f) => [f.path, f]));
    expect([...files(first).keys()]).toEqual(
      expect.arrayContaining(["main.py", "lib/sensors.py", "lib/mpota/__init__.py", "lib/mpota/install.py"]),
    );
    expect(first.envelope.signed).toMatchObject({ project: EXAMPLE_PROJECT, version: "1.0.0" });
    const main = files(second).get("main.py")!;
    expect(main.blobs.patches).toBeUndefined(); // patches travel in the update pack, not the signed manifest
    expect(second.patches).toBe(1); // only main.py changed
    expect(store.updatePacks(EXAMPLE_PROJECT, "1.1.0")).toEqual([{ from: first.sha256, to: second.sha256 }]);
    const records = decodePack(store.readPack(first.sha256, second.sha256));
    expect(records.map((r) => r.kind)).toEqual(["e", "f"]); // the envelope's patch, then main.py's
    expect(records[1]!.key).toBe(main.sha256.slice(0, 16));
    const stored = store.readFile(main.sha256, main.size).toString();
    expect(stored).toBe(exampleMain("1.1.0", "dew-point"));
    expect(stored).toContain('VERSION = "1.1.0"');
    expect(stored).toContain("dew point");
  });

  it("makes each flavour's main.py from examples/greenhouse/main.py", () => {
    expect(exampleMain("1.0.0")).toContain('VERSION = "1.0.0"');
    expect(exampleMain("1.0.0")).not.toContain("dew_point");
    expect(exampleMain("1.2.0", "crash")).toMatch(/starting on.*\n.*sensors\.read_pressure\(\)/);
    expect(exampleMain("1.2.0", "crash")).toContain("dew_point(t, h)");
  });
});
