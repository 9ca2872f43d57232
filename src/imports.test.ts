/**
 * The product's import graph is free of test machinery: no file under src/ or web/src/ that is not a
 * test imports from testing/ (or a test file). bench/ may, and `mpota bench` reaches it only through a
 * dynamic import of bench/index.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;
const isTest = (path: string) => /\.(test|stories)\.tsx?$/.test(path);

function productFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => /\.tsx?$/.test(path) && !isTest(path));
}

/** Relative imports of `file` that land in testing/ or in a test file, as repository paths. */
function testImports(file: string, text: string): string[] {
  return [...text.matchAll(IMPORT)]
    .map((m) => relative(ROOT, resolve(ROOT, dirname(file), m[1]!)))
    .filter((target) => target.startsWith("testing/") || isTest(target));
}

describe("the product's import graph", () => {
  it("finds an import of test machinery when there is one", () => {
    expect(testImports("src/x/y.ts", 'import { a } from "../../testing/board.ts";')).toEqual([
      "testing/board.ts",
    ]);
    expect(testImports("src/x/y.ts", 'const m = await import("./y.test.ts");')).toEqual(["src/x/y.test.ts"]);
    expect(testImports("src/x/y.ts", 'import { a } from "../z/index.ts";')).toEqual([]);
  });

  it("has no file under src/ or web/src/ that imports testing/ or a test", () => {
    const offending = [...productFiles("src"), ...productFiles("web/src")].flatMap((file) =>
      testImports(file, readFileSync(join(ROOT, file), "utf8")).map((target) => `${file} -> ${target}`),
    );
    expect(offending).toEqual([]);
  });
});
