/**
 * Which files of a source go into a release: `allow` (exact files or folder prefixes; none means
 * everything), `ignore` (the same; ignore wins over allow), and junk that never ships.
 */
import { pathProblem } from "../manifest/index.ts";
import { ReleaseError } from "./errors.ts";

/** Names skipped anywhere in a tree, unless `junk: false`. */
export const JUNK = [".git", "__pycache__", ".DS_Store", "Thumbs.db"] as const;

export interface FilterOptions {
  allow?: readonly string[];
  ignore?: readonly string[];
  /** Skip JUNK names (default true). */
  junk?: boolean;
}

export interface PathFilter {
  /** Whether the file (or, for a folder, anything below it) can be in the release. */
  wants(path: string, folder?: boolean): boolean;
  /** Allow patterns that matched no file (likely typos). */
  unmatched(): string[];
}

function normalize(pattern: string, option: string): string {
  const p = pattern.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
  const bad = pathProblem(p);
  if (bad) throw new ReleaseError(`${option} ${JSON.stringify(pattern)}: the path ${bad}`);
  return p;
}

const covers = (pattern: string, path: string) => path === pattern || path.startsWith(`${pattern}/`);

export function makeFilter(options: FilterOptions = {}): PathFilter {
  const allow = (options.allow ?? []).map((p) => normalize(p, "--allow"));
  const ignore = (options.ignore ?? []).map((p) => normalize(p, "--ignore"));
  const junk = new Set<string>(options.junk === false ? [] : JUNK);
  const used = new Set<string>();
  return {
    wants(path, folder = false) {
      if (path.split("/").some((part) => junk.has(part))) return false;
      if (ignore.some((p) => covers(p, path))) return false;
      if (allow.length === 0) return true;
      // A folder is worth entering when an allow pattern covers it or lies below it.
      if (folder) return allow.some((p) => covers(p, path) || p.startsWith(`${path}/`));
      const match = allow.find((p) => covers(p, path));
      if (match !== undefined) used.add(match);
      return match !== undefined;
    },
    unmatched: () => allow.filter((p) => !used.has(p)),
  };
}
