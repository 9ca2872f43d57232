/**
 * Which files of a release `mpota release --mpy` compiles: every .py module except the files the loader
 * runs as source (main.py, boot.py, hooks) and those matching `--keep-py` patterns.
 */
import { globMatches } from "../rules/glob.ts";

/** Files the loader (boot.py) reads as source: they stay .py whatever the patterns say. */
export const ALWAYS_SOURCE = ["main.py", "boot.py"] as const;

/**
 * A --keep-py pattern in the one glob dialect of file selection (src/rules/glob.ts). A pattern without
 * a `/` names a file in any folder (`config.py` keeps `lib/config.py` too), as --keep-py has always
 * read it: it stands for `**` + `/config.py`; `./config.py` is the top-level file only.
 */
export function keepPyPattern(pattern: string): string {
  return pattern.includes("/") ? pattern.replace(/^(\.\/)+/, "") : `**/${pattern}`;
}

export interface MpyTreeOptions {
  /** Patterns of .py files to ship as source. */
  keepPy?: readonly string[];
  /** Paths the loader runs as source (the release's hooks). */
  source?: readonly string[];
}

/** The mpota package as releases ship it (shippedMpotaPackage): its __init__.py and py/ stay source. */
const PACKAGE_SOURCE = /^lib\/mpota\/(__init__\.py$|py\/)/;

/** Which .py files of `paths` become .mpy. */
export function modulesToCompile(paths: readonly string[], options: MpyTreeOptions = {}): string[] {
  const keep = (options.keepPy ?? []).map(keepPyPattern);
  const source = new Set<string>([...ALWAYS_SOURCE, ...(options.source ?? [])]);
  return paths.filter(
    (p) =>
      p.endsWith(".py") &&
      !source.has(p) &&
      !PACKAGE_SOURCE.test(p) &&
      !keep.some((pattern) => globMatches(pattern, p)),
  );
}
