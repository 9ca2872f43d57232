/** The docs cite only what a clone has: every linked or named repository file exists. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).map((name) => `docs/${name}`)].filter((f) =>
  f.endsWith(".md"),
);
/** A path named in prose: it starts with a top-level folder of a repository like this one. */
const NAMED =
  /[(`\s]((?:\.\.\/)*(?:docs|src|device|bench|examples|shared|research|\.ci|bin|web|testing|test)\/[\w./-]*)/g;
const LINKED = /\]\(([^)\s#]+)(?:#[^)]*)?\)/g;

function cited(doc: string): string[] {
  const text = readFileSync(join(ROOT, doc), "utf8");
  const links = [...text.matchAll(LINKED)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/.test(target));
  const named = [...text.matchAll(NAMED)].map((m) => m[1]!.replace(/[.,:;]+$/, ""));
  return [...new Set([...links, ...named])];
}

describe("docs", () => {
  it.each(DOCS)("%s cites only files of the repository", (doc) => {
    const missing = cited(doc).filter(
      (path) => !existsSync(join(ROOT, dirname(doc), path)) && !existsSync(join(ROOT, path)),
    );
    expect(missing).toEqual([]);
  });
});
