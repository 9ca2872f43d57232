/**
 * Each rule's table (cases.ts) through the host's rule, the typebox schemas built from it (server
 * routes, ota_config.json) and the device's rule in the real MicroPython, in one board run.
 */
import { readFileSync } from "node:fs";
import Value from "typebox/value";
import { beforeAll, describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import { GOOD_CONFIGS } from "../config/cases.ts";
import { configProblems, OtaConfig } from "../config/index.ts";
import { MAX_PACK_RECORDS } from "../delta/index.ts";
import { Hex64 as ServerHex64, Name as ServerName, Version as ServerVersion } from "../server/schemas.ts";
import {
  FILE_SIZE_CASES,
  GLOB_CASES,
  HEX64_CASES,
  NAME_CASES,
  PATH_CASES,
  VERSION_CASES,
  VERSION_ORDER,
  ZLIB_BOUND_SIZES,
} from "./cases.ts";
import {
  compareVersions,
  globMatches,
  globMayMatchBelow,
  isHex64,
  isName,
  isPath,
  isVersion,
  MAX_ATTACHED_PACK,
  MAX_LINE_BYTES,
  MAX_VERSION_LENGTH,
  pathProblem,
  versionProblem,
} from "./index.ts";

const ORDERED = VERSION_ORDER.flat();
const rank = (v: string) => VERSION_ORDER.findIndex((same) => same.includes(v));

interface DeviceVerdicts {
  names: boolean[];
  hex64: boolean[];
  keys: boolean[];
  versions: boolean[];
  order: number[][];
  paths: boolean[];
  globs: boolean[];
  bounds: number[];
  fileSizes: boolean[];
  maxLine: number;
  maxVersion: number;
  maxPackRecords: number;
}

/** Every table through device/mpota (version.py, manifest.py, src_git.py) on one virtual board. */
async function deviceVerdicts(): Promise<DeviceVerdicts> {
  const cases = {
    names: NAME_CASES.map(([v]) => v),
    hex64: HEX64_CASES.map(([v]) => v),
    versions: VERSION_CASES.map(([v]) => v),
    order: ORDERED,
    paths: PATH_CASES.map(([p]) => p),
    globs: GLOB_CASES.map(([pattern, path]) => [pattern, path]),
    sizes: ZLIB_BOUND_SIZES.map(([size]) => size),
    fileSizes: FILE_SIZE_CASES.map(([size]) => size),
  };
  const script = `
import json
from mpota import config, manifest, pack, src_git, version
with open('/cases.json') as f:
    c = json.loads(f.read())


def entry_ok(size):
    try:
        manifest._check_entry({"path": "a", "size": size, "sha256": "0" * 64, "blobs": {"zlib": 1}})
        return True
    except Exception:
        return False


print(json.dumps({
    "names": [version.is_name(v) for v in c["names"]],
    "hex64": [manifest.is_hex(v, 64) for v in c["hex64"]],
    "keys": [config._key(v) for v in c["hex64"]],
    "versions": [version.is_version(v) for v in c["versions"]],
    "order": [[version.compare(a, b) for b in c["order"]] for a in c["order"]],
    "paths": [manifest.path_ok(p) for p in c["paths"]],
    "globs": [src_git.glob(p, s) for p, s in c["globs"]],
    "bounds": [manifest._zlib_bound(n) for n in c["sizes"]],
    "fileSizes": [entry_ok(n) for n in c["fileSizes"]],
    "maxLine": manifest.MAX_LINE,
    "maxVersion": version.MAX_LENGTH,
    "maxPackRecords": pack.MAX_RECORDS,
}))
`;
  const { value } = await runDeviceScript(script, { "cases.json": JSON.stringify(cases) });
  return value as DeviceVerdicts;
}

let device: DeviceVerdicts;
beforeAll(async () => {
  device = await deviceVerdicts();
});

const config = (fields: Record<string, unknown>) => ({ ...GOOD_CONFIGS.minimal!, ...fields });

describe("names", () => {
  it.each(NAME_CASES.map(([v, ok], i) => [JSON.stringify(v), ok, i] as const))("%s: %s", (_, ok, i) => {
    const v = NAME_CASES[i]![0];
    expect(isName(v)).toBe(ok);
    expect(device.names[i]).toBe(ok);
    expect(Value.Check(ServerName, v)).toBe(ok);
    expect(configProblems(config({ project: v })).length === 0).toBe(ok);
    expect(Value.Check(OtaConfig, config({ project: v }))).toBe(ok);
  });
});

describe("64 hex characters (SHA-256 digests, public keys)", () => {
  it.each(HEX64_CASES.map(([v, ok], i) => [JSON.stringify(v), ok, i] as const))("%s: %s", (_, ok, i) => {
    const v = HEX64_CASES[i]![0];
    expect(isHex64(v)).toBe(ok);
    expect(device.hex64[i]).toBe(ok);
    expect(device.keys[i]).toBe(ok);
    expect(Value.Check(ServerHex64, v)).toBe(ok);
    expect(configProblems(config({ keys: [v] })).length === 0).toBe(ok);
    expect(Value.Check(OtaConfig, config({ keys: [v] }))).toBe(ok);
  });
});

describe("versions", () => {
  it.each(
    VERSION_CASES.map(([v, problem], i) => [JSON.stringify(v).slice(0, 40), problem ?? "ok", i] as const),
  )("%s: %s", (_, problem, i) => {
    const v = VERSION_CASES[i]![0];
    const ok = problem === "ok";
    if (ok) expect(versionProblem(v)).toBeUndefined();
    else expect(versionProblem(v)).toContain(problem);
    expect(isVersion(v)).toBe(ok);
    expect(device.versions[i]).toBe(ok);
    expect(Value.Check(ServerVersion, v)).toBe(ok);
    expect(configProblems(config({ pin: v })).length === 0).toBe(ok || v === null);
    expect(Value.Check(OtaConfig, config({ pin: v }))).toBe(ok || v === null);
  });

  it("orders them the same on both sides", () => {
    for (const [i, a] of ORDERED.entries()) {
      const expected = ORDERED.map((b) => Math.sign(rank(a) - rank(b)));
      expect([a, ORDERED.map((b) => compareVersions(a, b))]).toEqual([a, expected]);
      expect([a, device.order[i]]).toEqual([a, expected]);
    }
  });
});

describe("release paths", () => {
  it.each(PATH_CASES.map(([p, problem], i) => [JSON.stringify(p).slice(0, 40), problem ?? "ok", i] as const))(
    "%s: %s",
    (_, problem, i) => {
      const p = PATH_CASES[i]![0];
      const ok = problem === "ok";
      if (ok) expect(pathProblem(p)).toBeUndefined();
      else expect(pathProblem(p)).toContain(problem);
      expect(isPath(p)).toBe(ok);
      expect(device.paths[i]).toBe(ok);
      // The config's paths follow the rule (its JSON Schema for editors counts characters, not bytes).
      expect(configProblems(config({ source: { type: "github", repo: "a/b", paths: [p] } }))).toEqual(
        ok ? [] : ['"source.paths" must be a list of relative paths such as "lib/app.py"'],
      );
    },
  );
});

describe("the glob dialect of file selection", () => {
  it.each(GLOB_CASES.map(([pattern, path, ok], i) => [pattern, path, ok, i] as const))(
    "%s selects %s: %s",
    (pattern, path, ok, i) => {
      expect(globMatches(pattern, path)).toBe(ok);
      expect(device.globs[i]).toBe(ok);
    },
  );

  it("enters a folder only when a pattern may select something below it", () => {
    expect(globMayMatchBelow("lib/drivers/bme.py", "lib")).toBe(true);
    expect(globMayMatchBelow("lib/drivers/bme.py", "lib/drivers")).toBe(true);
    expect(globMayMatchBelow("lib/drivers/bme.py", "lib/other")).toBe(false);
    expect(globMayMatchBelow("lib", "lib/deep/er")).toBe(true);
    expect(globMayMatchBelow("**/*.py", "any/where")).toBe(true);
    expect(globMayMatchBelow("*.py", "lib")).toBe(false);
    expect(globMayMatchBelow("l?b/*.py", "lib")).toBe(true);
  });
});

describe("limits", () => {
  it("bounds zlib streams, file sizes, lines and versions alike", () => {
    expect(device.bounds).toEqual(ZLIB_BOUND_SIZES.map(([, bound]) => bound));
    expect(device.fileSizes).toEqual(FILE_SIZE_CASES.map(([, ok]) => ok));
    expect(device.maxLine).toBe(MAX_LINE_BYTES);
    expect(device.maxVersion).toBe(MAX_VERSION_LENGTH);
    expect(device.maxPackRecords).toBe(MAX_PACK_RECORDS);
    // A private const (inlined by the compiler, no name on the board): read from the source.
    const answer = readFileSync(new URL("../../device/mpota/answer.py", import.meta.url), "utf8");
    expect(Number(/^_MAX_PACK = const\((\d+)\)/m.exec(answer)?.[1])).toBe(MAX_ATTACHED_PACK);
  });
});
