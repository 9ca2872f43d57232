/**
 * The one glob dialect of file selection (`mpota release --allow/--ignore/--keep-py`, the config's
 * `allow`/`ignore`), the device's (device/mpota/src_git.py `glob`); rules.test.ts runs one table
 * through both. A pattern is matched against the whole release path from its root, segment by
 * segment: `*` and `?` stay within a segment, a `**` segment spans any number of them (none too),
 * and a pattern that names a folder matches everything below it (`lib`, `lib/`, `tests/**`). So `*.py`
 * selects the top-level modules only, and a `**` segment before `*.py` every module.
 */

/** Code points, as MicroPython indexes a str. */
const chars = (s: string) => [...s];

function segment(p: string[], s: string[]): boolean {
  if (p.length === 0) return s.length === 0;
  if (p[0] === "*") {
    for (let k = 0; k <= s.length; k++) if (segment(p.slice(1), s.slice(k))) return true;
    return false;
  }
  return s.length > 0 && (p[0] === "?" || p[0] === s[0]) && segment(p.slice(1), s.slice(1));
}

function segments(p: string[], s: string[]): boolean {
  if (p.length === 0) return s.length === 0;
  if (p[0] === "**") {
    for (let k = 0; k <= s.length; k++) if (segments(p.slice(1), s.slice(k))) return true;
    return false;
  }
  return s.length > 0 && segment(chars(p[0]!), chars(s[0]!)) && segments(p.slice(1), s.slice(1));
}

const split = (pattern: string) => pattern.replace(/\/+$/, "").split("/");

/** Whether `pattern` selects the file `path`. */
export function globMatches(pattern: string, path: string): boolean {
  const p = split(pattern);
  const s = path.split("/");
  return segments(p, s) || segments([...p, "**"], s);
}

/** Whether `pattern` may select something below the folder `folder` (so a walk enters it). */
export function globMayMatchBelow(pattern: string, folder: string): boolean {
  const below = (p: string[], s: string[]): boolean =>
    s.length === 0 ||
    (p.length > 0 &&
      (p[0] === "**" || (segment(chars(p[0]!), chars(s[0]!)) && below(p.slice(1), s.slice(1)))));
  return below([...split(pattern), "**"], folder.split("/"));
}
