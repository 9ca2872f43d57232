import { describe, expect, it } from "vitest";
import { makeFilter } from "./filter.ts";

describe("makeFilter", () => {
  it("takes everything but junk by default", () => {
    const f = makeFilter();
    expect(f.wants("main.py")).toBe(true);
    expect(f.wants("lib/x/y.py")).toBe(true);
    for (const junk of [".git", "lib/__pycache__/x.pyc", ".DS_Store", "a/Thumbs.db", ".git/config"])
      expect(f.wants(junk), junk).toBe(false);
    expect(makeFilter({ junk: false }).wants("lib/__pycache__/x.pyc")).toBe(true);
  });

  it("allows exact files and folder prefixes, not name prefixes", () => {
    const f = makeFilter({ allow: ["main.py", "./lib/"] });
    expect(f.wants("main.py")).toBe(true);
    expect(f.wants("lib/a.py")).toBe(true);
    expect(f.wants("lib")).toBe(true);
    expect(f.wants("library.py")).toBe(false);
    expect(f.wants("main.py.bak")).toBe(false);
    expect(f.wants("tests/x.py")).toBe(false);
    expect(f.unmatched()).toEqual([]);
  });

  it("lets ignore win over allow", () => {
    const f = makeFilter({ allow: ["lib"], ignore: ["lib/secret", "lib/x.py"] });
    expect(f.wants("lib/a.py")).toBe(true);
    expect(f.wants("lib/x.py")).toBe(false);
    expect(f.wants("lib/secret/k.py")).toBe(false);
    expect(f.wants("lib/secret", true)).toBe(false);
  });

  it("enters folders that lead to an allowed path", () => {
    const f = makeFilter({ allow: ["lib/drivers/bme.py"] });
    expect(f.wants("lib", true)).toBe(true);
    expect(f.wants("lib/drivers", true)).toBe(true);
    expect(f.wants("lib/other", true)).toBe(false);
    expect(f.wants("docs", true)).toBe(false);
  });

  it("takes the glob patterns of the config's allow/ignore (src/rules/glob.ts)", () => {
    const f = makeFilter({ allow: ["*.py", "lib/**/*.py"], ignore: ["**/test_*.py"] });
    expect(f.wants("main.py")).toBe(true);
    expect(f.wants("data.json")).toBe(false);
    expect(f.wants("app/x.py")).toBe(false);
    expect(f.wants("lib/a/b.py")).toBe(true);
    expect(f.wants("lib/a/test_b.py")).toBe(false);
    expect(f.wants("test_main.py")).toBe(false);
    expect(f.wants("lib", true)).toBe(true);
    expect(f.wants("app", true)).toBe(false);
    expect(f.unmatched()).toEqual([]);
  });

  it("reports allow patterns that matched nothing, and refuses bad patterns", () => {
    const f = makeFilter({ allow: ["main.py", "lbi"] });
    f.wants("main.py");
    expect(f.unmatched()).toEqual(["lbi"]);
    expect(() => makeFilter({ allow: ["../x"] })).toThrow('--allow "../x": the path contains ".."');
    expect(() => makeFilter({ ignore: ["/etc"] })).toThrow('--ignore "/etc": the path is absolute');
  });
});
