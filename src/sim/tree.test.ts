import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadTree, saveTree } from "./index.ts";
import { deviceTracker } from "./testing.ts";

const { device, closeAll } = deviceTracker();
const dirs: string[] = [];
afterEach(async () => {
  await closeAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mpota-tree-"));
  dirs.push(dir);
  return dir;
}

describe("flash trees in host folders", () => {
  it("loadTree reads files, nested folders and empty folders", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "lib", "pkg"), { recursive: true });
    mkdirSync(join(dir, "empty"));
    writeFileSync(join(dir, "main.py"), "print(1)\n");
    writeFileSync(join(dir, "lib", "pkg", "data.bin"), Buffer.from([0, 255, 10]));
    const tree = loadTree(dir);
    expect(Object.keys(tree).sort()).toEqual(["empty/", "lib/pkg/data.bin", "main.py"]);
    expect(Buffer.from(tree["lib/pkg/data.bin"]!)).toEqual(Buffer.from([0, 255, 10]));
    expect(tree["empty/"]).toEqual(new Uint8Array(0));
  });

  it("saveTree makes the folder hold exactly the tree (stale files go)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "stale.txt"), "old");
    saveTree(dir, { "a/b.txt": "bee", "c/": "", "d.bin": new Uint8Array([1, 2]) });
    expect(readdirSync(dir).sort()).toEqual(["a", "c", "d.bin"]);
    const hex = Object.fromEntries(
      Object.entries(loadTree(dir)).map(([k, v]) => [k, Buffer.from(v).toString("hex")]),
    );
    expect(hex).toEqual({ "a/b.txt": Buffer.from("bee").toString("hex"), "c/": "", "d.bin": "0102" });
  });

  it("a device's flash survives a round trip through a folder", async () => {
    const dev = device({
      files: { "main.py": "import os\nos.mkdir('logs')\nos.rename('main.py', 'app.py')" },
    });
    expect((await dev.run()).ok).toBe(true);
    const dir = tempDir();
    saveTree(dir, dev.files());
    const again = device({ files: loadTree(dir) });
    const r = await again.run({
      boot: false,
      script: "import os\nprint(sorted(os.listdir()), open('app.py').read()[:9])",
    });
    expect(r.output).toBe("['app.py', 'logs'] import os");
  });
});
