/**
 * `mpota release --mpy`: a release tree with its .py modules compiled to .mpy, except the files the
 * loader runs as source (main.py, hooks) and those matching `--keep-py` patterns.
 */
import { compileMpy, MpyError } from "./compile.ts";

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

/** Which .py files of `paths` become .mpy. */
export function modulesToCompile(paths: readonly string[], options: MpyTreeOptions = {}): string[] {
  const keep = (options.keepPy ?? []).map(globToRegExp);
  const source = new Set<string>([...ALWAYS_SOURCE, ...(options.source ?? [])]);
  return paths.filter((p) => p.endsWith(".py") && !source.has(p) && !keep.some((re) => re.test(p)));
}

/** The tree with the chosen modules replaced by `<name>.mpy`; refuses a tree that has both. */
export async function compileTree(
  files: Readonly<Record<string, Uint8Array>>,
  options: MpyTreeOptions = {},
): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = { ...files };
  for (const path of modulesToCompile(Object.keys(files), options)) {
    const target = `${path.slice(0, -3)}.mpy`;
    if (target in files) throw new MpyError(`${path} and ${target} are both in the release; remove one`);
    out[target] = await compileMpy(path, files[path]!);
    delete out[path];
  }
  return out;
}
