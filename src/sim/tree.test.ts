import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deviceTracker } from "../../testing/sim.ts";
import { loadTree, writeBackTree } from "./index.ts";

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

  it("writeBackTree makes the folder hold exactly the new tree (removed files go)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "stale.txt"), "old");
    const count = writeBackTree(dir, loadTree(dir), {
      "a/b.txt": "bee",
      "c/": "",
      "d.bin": new Uint8Array([1, 2]),
    });
    expect(count).toBe(5); // 2 files written, 1 removed, 2 folders made
    expect(readdirSync(join(dir, "..")).filter((n) => n.includes(".mpota-"))).toEqual([]);
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
    writeBackTree(dir, {}, dev.files());
    const again = device({ files: loadTree(dir) });
    const r = await again.run({
      boot: false,
      script: "import os\nprint(sorted(os.listdir()), open('app.py').read()[:9])",
    });
    expect(r.output).toBe("['app.py', 'logs'] import os");
  });

  it("writeBackTree touches only what changed: links and modes of other files stay", () => {
    const dir = tempDir();
    const shared = join(tempDir(), "shared.py");
    writeFileSync(shared, "SHARED = 1\n");
    symlinkSync(shared, join(dir, "shared.py"));
    writeFileSync(join(dir, "tool.sh"), "#!/bin/sh\n");
    chmodSync(join(dir, "tool.sh"), 0o755);
    writeFileSync(join(dir, "main.py"), "print(1)\n");
    const before = loadTree(dir);
    expect(Buffer.from(before["shared.py"]!).toString()).toBe("SHARED = 1\n"); // read through the link
    expect(writeBackTree(dir, before, { ...before })).toBe(0);
    expect(writeBackTree(dir, before, { ...before, "main.py": "print(2)\n", "log.txt": "x" })).toBe(2);
    expect(readFileSync(join(dir, "main.py"), "utf8")).toBe("print(2)\n");
    expect(lstatSync(join(dir, "shared.py")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, "shared.py"))).toBe(shared);
    expect(statSync(join(dir, "tool.sh")).mode & 0o777).toBe(0o755);
    // A changed linked file becomes a plain file; the file the link pointed to is left alone.
    writeBackTree(dir, loadTree(dir), { ...loadTree(dir), "shared.py": "SHARED = 2\n" });
    expect(lstatSync(join(dir, "shared.py")).isFile()).toBe(true);
    expect(readFileSync(shared, "utf8")).toBe("SHARED = 1\n");
  });

  it("a write-back that fails leaves the folder as it was", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "main.py"), "print(1)\n");
    writeFileSync(join(dir, "keep.txt"), "keep me");
    const before = loadTree(dir);
    const { "keep.txt": _dropped, ...after } = before;
    expect(() => writeBackTree(dir, before, { ...after, "bad\0name": "x" })).toThrow();
    expect(loadTree(dir)).toEqual(before);
    expect(readdirSync(join(dir, "..")).filter((n) => n.includes(".mpota-"))).toEqual([]);
  });
});
