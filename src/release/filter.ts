/**
 * Which files of a source go into a release: `allow` (glob patterns of src/rules/glob.ts, the
 * dialect of the config's `allow`/`ignore`: exact files, folders with everything below them, `*`,
 * `?` and `**`; none means everything), `ignore` (the same; ignore wins over allow), and junk that
 * never ships.
 */
import { globMatches, globMayMatchBelow } from "../rules/glob.ts";
import { pathProblem } from "../rules/path.ts";
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

export function makeFilter(options: FilterOptions = {}): PathFilter {
  const allow = (options.allow ?? []).map((p) => normalize(p, "--allow"));
  const ignore = (options.ignore ?? []).map((p) => normalize(p, "--ignore"));
  const junk = new Set<string>(options.junk === false ? [] : JUNK);
  const used = new Set<string>();
  return {
    wants(path, folder = false) {
      if (path.split("/").some((part) => junk.has(part))) return false;
      if (ignore.some((p) => globMatches(p, path))) return false;
      if (allow.length === 0) return true;
      // A folder is worth entering when an allow pattern may select something below it.
      if (folder) return allow.some((p) => globMayMatchBelow(p, path));
      const match = allow.find((p) => globMatches(p, path));
      if (match !== undefined) used.add(match);
      return match !== undefined;
    },
    unmatched: () => allow.filter((p) => !used.has(p)),
  };
}
