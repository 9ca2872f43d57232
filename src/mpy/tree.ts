/**
 * Which files of a release `mpota release --mpy` compiles: every .py module except the files the loader
 * runs as source (main.py, boot.py, hooks) and those matching `--keep-py` patterns.
 */
/** Files the loader (boot.py) reads as source: they stay .py whatever the patterns say. */
export const ALWAYS_SOURCE = ["main.py", "boot.py"] as const;

/**
 * A glob as a RegExp over release paths: `*` and `?` stay within a folder, `**` spans folders. A pattern
 * without a `/` matches the file name in any folder (`config.py`), one with a `/` the whole path
 * (`lib/drivers/*.py`, `app/**`).
 */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      const slash = pattern[i + 2] === "/";
      re += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[\\^$.+()|[\]{}]/g, "\\$&");
  }
  return new RegExp(pattern.includes("/") ? `^${re}$` : `(?:^|/)${re}$`);
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
  const keep = (options.keepPy ?? []).map(globToRegExp);
  const source = new Set<string>([...ALWAYS_SOURCE, ...(options.source ?? [])]);
  return paths.filter(
    (p) => p.endsWith(".py") && !source.has(p) && !PACKAGE_SOURCE.test(p) && !keep.some((re) => re.test(p)),
  );
}
