import { describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import { pythonModule, seededRng } from "../../testing/delta-corpus.ts";
import { globMatches } from "../rules/glob.ts";
import { compileMpy, compileTree, keepPyPattern, MPY_HEADER, MpyError, modulesToCompile } from "./index.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

describe("compileMpy", () => {
  it("makes .mpy format 6 that the device's MicroPython imports, with the release path in tracebacks", async () => {
    const mpy = await compileMpy(
      "lib/calc.py",
      "def twice(a):\n    return a * 2\n\n\ndef bad(a):\n    return a + 1\n",
    );
    expect(mpy.subarray(0, 4)).toEqual(MPY_HEADER);
    const script = `
import json, sys
import calc
try:
    calc.bad(None)
    where = None
except TypeError as e:
    import io
    s = io.StringIO()
    sys.print_exception(e, s)
    where = s.getvalue()
print(json.dumps({"twice": calc.twice(21), "file": calc.__file__, "where": where}))
`;
    const { value } = await runDeviceScript(script, { "lib/calc.mpy": mpy });
    const got = value as { twice: number; file: string; where: string };
    expect(got.twice).toBe(42);
    expect(got.file).toMatch(/calc\.mpy$/);
    expect(got.where).toContain('File "lib/calc.py", line 6, in bad');
  });

  it("refuses source that does not compile, naming the file and the line", async () => {
    const error = await compileMpy("lib/broken.py", "x = 1\ndef f(:\n    pass\n").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MpyError);
    expect(String(error)).toMatch(
      /lib\/broken\.py does not compile: .*"lib\/broken\.py", line 2.*SyntaxError/,
    );
  });

  it("compiles generated modules, and leaves the process's error handlers as they were", async () => {
    const listeners =
      process.listeners("unhandledRejection").length + process.listeners("uncaughtException").length;
    const rng = seededRng(4);
    for (let i = 0; i < 5; i++) {
      const mpy = await compileMpy(`m${i}.py`, pythonModule(rng, 10));
      expect(mpy[0]).toBe(0x4d);
    }
    expect(
      process.listeners("unhandledRejection").length + process.listeners("uncaughtException").length,
    ).toBe(listeners);
  });
});

describe("keep-py patterns", () => {
  it("matches a file name in any folder, or a whole path when the pattern has a folder", () => {
    const keeps = (pattern: string, path: string) => globMatches(keepPyPattern(pattern), path);
    expect(keeps("config.py", "lib/config.py")).toBe(true);
    expect(keeps("config.py", "config.py")).toBe(true);
    expect(keeps("config.py", "lib/myconfig.py")).toBe(false);
    expect(keeps("./config.py", "config.py")).toBe(true);
    expect(keeps("./config.py", "lib/config.py")).toBe(false);
    expect(keeps("lib/*.py", "lib/a.py")).toBe(true);
    expect(keeps("lib/*.py", "lib/sub/a.py")).toBe(false);
    expect(keeps("lib/**/*.py", "lib/sub/deep/a.py")).toBe(true);
    expect(keeps("lib/**/*.py", "lib/a.py")).toBe(true);
    expect(keeps("app/**", "app/x/y.py")).toBe(true);
    expect(keeps("app", "app/x/y.py")).toBe(true);
    expect(keeps("t?st.py", "test.py")).toBe(true);
    expect(keeps("a+b.py", "a+b.py")).toBe(true);
    expect(keeps("a+b.py", "aab.py")).toBe(false);
  });

  it("keeps main.py, boot.py, hooks and kept patterns as source; compiles the other .py files", () => {
    const paths = [
      "main.py",
      "boot.py",
      "hooks/post.py",
      "lib/a.py",
      "lib/cfg.py",
      "lib/sub/main.py",
      "data.json",
    ];
    expect(modulesToCompile(paths, { keepPy: ["cfg.py"], source: ["hooks/post.py"] })).toEqual([
      "lib/a.py",
      "lib/sub/main.py",
    ]);
  });
});

describe("compileTree", () => {
  it("replaces compiled modules by .mpy and keeps everything else byte for byte", async () => {
    const tree = {
      "main.py": utf8("import a\n"),
      "a.py": utf8("X = 1\n"),
      "img.bin": Uint8Array.of(1, 2, 3),
    };
    const out = await compileTree(tree);
    expect(Object.keys(out).sort()).toEqual(["a.mpy", "img.bin", "main.py"]);
    expect(out["main.py"]).toEqual(tree["main.py"]);
    expect(out["img.bin"]).toEqual(tree["img.bin"]);
  });

  it("refuses a tree holding both x.py and x.mpy", async () => {
    const tree = { "x.py": utf8("X = 1\n"), "x.mpy": Uint8Array.of(0x4d, 6) };
    await expect(compileTree(tree)).rejects.toThrow("x.py and x.mpy are both in the release; remove one");
  });
});
