/**
 * Semantic versions (semver 2.0) as releases name them: `1.2.3`, `1.2.3-rc.1`; build metadata
 * (`+…`) is ignored for ordering. At most MAX_VERSION_LENGTH characters, and MAJOR, MINOR and PATCH
 * at most 15 digits each (so every language reads them as exact numbers). The one grammar of the
 * host (manifests, configs, server routes, CLI options) and of device/mpota/version.py: rules.test.ts
 * runs one table through both.
 */
import { ManifestError } from "../manifest/errors.ts";
import { MAX_VERSION_LENGTH } from "./limits.ts";

export interface Version {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  build: string[];
}

const NUMBER = /^(0|[1-9]\d*)$/;
const IDENT = /^[0-9A-Za-z-]+$/;
const MAX_DIGITS = 15;

const CORE = `(0|[1-9]\\d{0,${MAX_DIGITS - 1}})`;
const PRE = "(0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)";
/** The grammar as a JSON Schema / typebox pattern (with `maxLength: MAX_VERSION_LENGTH`). */
export const VERSION_PATTERN = `^${CORE}\\.${CORE}\\.${CORE}(-${PRE}(\\.${PRE})*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$`;

function why(v: string): string | undefined {
  if (v.length > MAX_VERSION_LENGTH) return `is longer than ${MAX_VERSION_LENGTH} characters`;
  const [rest = "", build, ...more] = v.split("+");
  if (more.length > 0) return 'has more than one "+"';
  if (build !== undefined && !build.split(".").every((id) => IDENT.test(id))) return "has bad build metadata";
  const dash = rest.indexOf("-");
  const core = dash < 0 ? rest : rest.slice(0, dash);
  const nums = core.split(".");
  if (nums.length !== 3 || !nums.every((n) => NUMBER.test(n)))
    return "must be MAJOR.MINOR.PATCH (numbers without leading zeros)";
  if (nums.some((n) => n.length > MAX_DIGITS)) return `has a number longer than ${MAX_DIGITS} digits`;
  if (dash >= 0) {
    const pre = rest.slice(dash + 1).split(".");
    if (!pre.every((id) => IDENT.test(id) && (!/^\d+$/.test(id) || NUMBER.test(id))))
      return "has a bad prerelease (dot-separated [0-9A-Za-z-] identifiers, numbers without leading zeros)";
  }
  return undefined;
}

/** What is wrong with `v` as a version, or undefined. */
export function versionProblem(v: unknown): string | undefined {
  return typeof v === "string" ? why(v) : "must be a string";
}

/** The parts of a semver version; ManifestError saying what is wrong otherwise. */
export function parseVersion(v: string, field = "version"): Version {
  const problem = versionProblem(v);
  if (problem) throw new ManifestError(`${field}: ${JSON.stringify(v)} ${problem}`);
  const [rest = "", build] = v.split("+");
  const dash = rest.indexOf("-");
  const [major, minor, patch] = (dash < 0 ? rest : rest.slice(0, dash)).split(".").map(Number) as [
    number,
    number,
    number,
  ];
  return {
    major,
    minor,
    patch,
    prerelease: dash < 0 ? [] : rest.slice(dash + 1).split("."),
    build: build === undefined ? [] : build.split("."),
  };
}

export function isVersion(v: unknown): v is string {
  return typeof v === "string" && why(v) === undefined;
}

/** Numeric identifiers by value (they have no leading zeros, so by length first, then by digits). */
function compareNumeric(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** -1, 0 or 1 as `a` is older than, as old as, or newer than `b` (semver precedence). */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  for (const key of ["major", "minor", "patch"] as const) {
    if (va[key] !== vb[key]) return va[key] < vb[key] ? -1 : 1;
  }
  const ra = va.prerelease;
  const rb = vb.prerelease;
  if (ra.length === 0 || rb.length === 0) {
    if (ra.length === rb.length) return 0;
    return ra.length === 0 ? 1 : -1; // a release is newer than its prereleases
  }
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i] as string;
    const y = rb[i] as string;
    if (x === y) continue;
    const xNum = /^\d+$/.test(x);
    const yNum = /^\d+$/.test(y);
    if (xNum && yNum) return compareNumeric(x, y) as -1 | 1;
    if (xNum !== yNum) return xNum ? -1 : 1; // numeric identifiers sort before alphanumeric ones
    return x < y ? -1 : 1;
  }
  return ra.length === rb.length ? 0 : ra.length < rb.length ? -1 : 1;
}
