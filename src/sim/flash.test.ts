import { afterEach, describe, expect, it } from "vitest";
import { deviceTracker } from "../../testing/sim.ts";
import type { DurabilityModel } from "./worker/protocol.ts";

const { device, closeAll } = deviceTracker();
afterEach(closeAll);

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString();

/** The durable flash as path -> text, to compare whole trees at once. */
function textTree(files: Record<string, Uint8Array>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([path, bytes]) => [path, Buffer.from(bytes).toString()]),
  );
}

const OLD = "old settings v1";
const PART1 = "new settings, first half / ";
const PART2 = "second half v2";
const NEW = PART1 + PART2;

/** The classic safe update: write a temporary file in two writes, close it, rename it over the old one. */
const writeThenRename = `
import os
f = open("settings.tmp", "w")
f.write(${JSON.stringify(PART1)})
f.write(${JSON.stringify(PART2)})
f.close()
os.rename("settings.tmp", "settings")
print("done")
`;

/** The unsafe update: rewrite the file in place. */
const overwriteInPlace = `
f = open("settings", "w")
f.write(${JSON.stringify(PART1)})
f.write(${JSON.stringify(PART2)})
f.close()
print("done")
`;

/** What the flash must hold after a cut just before op `cut` (1 open, 2-3 writes, 4 close, 5 rename). */
function expectedAfterCut(program: "rename" | "in-place", model: DurabilityModel, cut: number) {
  if (program === "rename") {
    if (cut === 1) return { settings: OLD };
    if (cut >= 6) return { settings: NEW };
    // The temporary file exists from its open on; its bytes are durable as written (torn) or at close.
    const tmp = model === "torn" ? ["", "", PART1, NEW, NEW][cut - 1] : cut === 5 ? NEW : "";
    return { settings: OLD, "settings.tmp": tmp };
  }
  if (cut >= 5) return { settings: NEW };
  // torn: the truncation and each write land at once; commit-on-close: nothing until the close.
  return { settings: model === "torn" ? (["", PART1, NEW][cut - 2] ?? OLD) : OLD };
}

describe("power cuts at every flash operation", () => {
  for (const model of ["torn", "commit-on-close"] as const) {
    for (const program of ["rename", "in-place"] as const) {
      it(`${program} update under ${model}: each cut leaves exactly the model's state`, async () => {
        const script = program === "rename" ? writeThenRename : overwriteInPlace;
        const files = { "boot.py": "print('booted')", settings: OLD };
        const clean = device({ files, flash: { model } });
        const full = await clean.run({ script });
        expect(full.ok, full.output).toBe(true);
        expect(full.flashOps).toBe(program === "rename" ? 5 : 4);
        expect(textTree(clean.files())).toEqual({ "boot.py": "print('booted')", settings: NEW });

        for (let cut = 1; cut <= full.flashOps; cut++) {
          const dev = device({ files, flash: { model, cutAt: cut } });
          const r = await dev.run({ script });
          // The script stops at the cut; the board reboots from the durable flash and runs boot.py only.
          expect(r.resets, `cut ${cut}`).toEqual([{ cause: "cut", atOp: cut }]);
          expect(r.reboots).toBe(1);
          expect(r.ok).toBe(true);
          expect(r.output.split("\n")).toEqual(["booted", "booted"]);
          // The cut operation was attempted, so it counts (and the numbering of later boots goes on from it).
          expect(r.flashOps, `cut ${cut}`).toBe(cut);
          const { "boot.py": _, ...rest } = textTree(dev.files());
          expect(rest, `${model} ${program} cut at op ${cut}`).toEqual(expectedAfterCut(program, model, cut));
          await dev.close();
        }
      });
    }
  }

  it("counts the cut point across reboots, so a later boot can be cut", async () => {
    const main = `
try:
    n = int(open("n").read())
except OSError:
    n = 0
f = open("n", "w")
f.write(str(n + 1))
f.close()
import machine
machine.reset()
`;
    // Boots 1 and 2 make ops 1-3 and 4-6; boot 3 truncates n (op 7) and is cut before its write (op 8).
    const dev = device({ files: { "main.py": main }, flash: { model: "torn", cutAt: 8 } });
    const r = await dev.run({ maxReboots: 5 });
    expect(r.resets).toEqual([{ cause: "reset" }, { cause: "reset" }, { cause: "cut", atOp: 8 }]);
    // Boot 4 finds the torn, empty counter: int("") raises, and the run ends with that error.
    expect(r.end).toBe("returned");
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^ValueError/);
    expect(dev.readText("n")).toBe("");
  });
});

describe("flash snapshot and restore", () => {
  it("files() is what the device wrote, and a new device booted from it sees the same", async () => {
    const dev = device({ files: { "keep.txt": "kept", "old/": "" } });
    const r = await dev.run({
      boot: false,
      script: `
import os
os.mkdir("lib")
os.mkdir("lib/pkg")
with open("lib/pkg/mod.py", "w") as f:
    f.write("VALUE = 42\\n")
with open("blob.bin", "wb") as f:
    f.write(bytes(range(256)))
os.mkdir("empty")
os.rmdir("old")
os.remove("keep.txt")
`,
    });
    expect(r.ok, r.output).toBe(true);
    const files = dev.files();
    expect(Object.keys(files).sort()).toEqual(["blob.bin", "empty/", "lib/pkg/mod.py"]);
    expect(Buffer.from(files["blob.bin"]!)).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    expect(text(files["lib/pkg/mod.py"])).toBe("VALUE = 42\n");

    const next = device({ files });
    const seen = await next.run({
      boot: false,
      script: `
import os, sys
sys.path.append("/lib")
from pkg.mod import VALUE
print(VALUE, sorted(os.listdir("/")), os.listdir("empty"), open("blob.bin", "rb").read()[250:])
`,
    });
    expect(seen.ok, seen.output).toBe(true);
    expect(seen.output).toBe("42 ['blob.bin', 'empty', 'lib'] [] b'\\xfa\\xfb\\xfc\\xfd\\xfe\\xff'");
  });

  it("keeps what a spinning device wrote before its watchdog bit", async () => {
    const dev = device({
      files: {
        "main.py": `
import machine
try:
    open("ran")
    print("second boot")
except OSError:
    with open("ran", "w") as f:
        f.write("y" * 1000)
    machine.WDT(timeout=100)
    while True:
        pass
`,
      },
    });
    const r = await dev.run({ maxReboots: 3 });
    expect(r.resets).toEqual([{ cause: "wdt" }]);
    expect(r.output).toBe("second boot");
    expect(dev.readText("ran")).toBe("y".repeat(1000));
    // The first boot's worker was killed: its figures come from what it journaled before it spun.
    expect(r.flashOps).toBe(3);
    expect(r.flashBytesWritten).toBe(1000);
  });
});

describe("flash space and injected faults", () => {
  const writeChunks = (n: number, size: number) => `
import os
def free():
    s = os.statvfs("/")
    return s[0] * s[3]
print(os.statvfs("/")[0] * os.statvfs("/")[2], free())
f = open("big", "wb")
chunk = bytes(${size})
try:
    for i in range(${n}):
        f.write(chunk)
    print("wrote all")
except OSError as e:
    print("errno", e.errno, "after", i)
f.close()
print(free())
`;

  it("os.statvfs reports the flash size; writing past it raises ENOSPC (28)", async () => {
    const dev = device({ files: { "a.txt": "x".repeat(5000) }, flash: { sizeBytes: 64 * 1024 } });
    const r = await dev.run({ boot: false, script: writeChunks(20, 4096) });
    expect(r.ok, r.output).toBe(true);
    // 16 blocks of 4 KiB; a.txt takes 2; 14 chunks fit, the 15th fails.
    expect(r.output.split("\n")).toEqual([`${64 * 1024} ${56 * 1024}`, "errno 28 after 14", "0"]);
    expect(dev.flash.read("big")?.length).toBe(14 * 4096);
  });

  it("frees space when files are removed or replaced", async () => {
    const dev = device({ flash: { sizeBytes: 32 * 1024 } });
    const r = await dev.run({
      boot: false,
      script: `
import os
free = lambda: os.statvfs("/")[3]
print(free())
with open("a", "wb") as f:
    f.write(bytes(10000))
print(free())
with open("b", "wb") as f:
    f.write(bytes(100))
print(free())
os.rename("b", "a")
print(free())
os.remove("a")
print(free())
`,
    });
    expect(r.ok, r.output).toBe(true);
    expect(r.output.split("\n").map(Number)).toEqual([8, 5, 4, 7, 8]);
  });

  it("an injected ENOSPC or EIO fails that one operation with its errno", async () => {
    // ops: 1 open, 2 write, 3 write, 4 close, 5 open, 6 write, 7 close
    const dev = device({
      flash: {
        faults: [
          { at: 3, errno: "ENOSPC" },
          { at: 5, errno: "EIO" },
        ],
      },
    });
    const r = await dev.run({
      boot: false,
      script: `
def attempt(label, fn):
    try:
        fn()
        print(label, "ok")
    except OSError as e:
        print(label, "errno", e.errno)
f = open("a", "w")
attempt("write1", lambda: f.write("first"))
attempt("write2", lambda: f.write("second"))
f.close()
attempt("open", lambda: open("b", "w"))
with open("c", "w") as g:
    g.write("fine")
`,
    });
    expect(r.ok, r.output).toBe(true);
    expect(r.output.split("\n")).toEqual(["write1 ok", "write2 errno 28", "open errno 5"]);
    expect(textTree(dev.files())).toEqual({ a: "first", c: "fine" });
    expect(r.flashOps).toBe(8);
  });
});

describe("file errors carry Linux errno numbers", () => {
  it("ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY and the errno module agree", async () => {
    const dev = device({ files: { "f.txt": "x", "d/inner.txt": "y" } });
    const r = await dev.run({
      boot: false,
      script: `
import os, errno
def code(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return e.errno
print(code(lambda: open("missing.txt")))
print(code(lambda: os.remove("missing.txt")))
print(code(lambda: os.stat("missing.txt")))
print(code(lambda: os.rename("missing.txt", "x")))
print(code(lambda: os.mkdir("d")))
print(code(lambda: open("f.txt/x")))
print(code(lambda: open("d", "w")))
print(code(lambda: os.rmdir("d")))
print(errno.ENOENT, errno.EEXIST, errno.EISDIR, errno.EIO, errno.ETIMEDOUT, errno.ECONNRESET, errno.ECONNREFUSED)
`,
    });
    expect(r.ok, r.output).toBe(true);
    expect(r.output.split("\n")).toEqual([
      "2",
      "2",
      "2",
      "2",
      "17",
      "20",
      "21",
      "39",
      "2 17 21 5 110 104 111",
    ]);
  });
});

describe("flash measurements", () => {
  it("counts operations and bytes exactly", async () => {
    const dev = device({ files: { "in.txt": "r".repeat(500) } });
    const r = await dev.run({
      boot: false,
      script: `
with open("in.txt") as f:
    data = f.read()
with open("out.bin", "wb") as f:
    f.write(bytes(1000))
    f.write(b"tail")
`,
    });
    expect(r.ok, r.output).toBe(true);
    expect(r.flashOps).toBe(4); // open, write, write, close (reads do not count)
    expect(r.flashBytesWritten).toBe(1004);
    expect(r.flashBytesRead).toBe(500);
  });

  it("counts boot.py and main.py as read from flash, once", async () => {
    const main = "x = 1\n";
    const boot = "y = 2  # boot\n";
    const r = await device({ files: { "main.py": main, "boot.py": boot } }).run();
    expect(r.ok, r.output).toBe(true);
    expect(r.flashBytesRead).toBe(main.length + boot.length);
    expect(r.flashOps).toBe(0);
  });
});
