import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_FILE_SIZE, zlibBound } from "../rules/limits.ts";
import { pathProblem } from "../rules/path.ts";
import { compressBlob } from "../store/blob.ts";
import { canonicalJson } from "./canonical.ts";
import { ManifestError } from "./errors.ts";
import { manifestProblems, pointerProblems, validateManifest, validatePointer } from "./validate.ts";

const H = (c: string) => c.repeat(64);
const file = (path: string, extra: Record<string, unknown> = {}) => ({
  path,
  size: 10,
  sha256: H("a"),
  blobs: { zlib: 18 },
  ...extra,
});
const manifest = (extra: Record<string, unknown> = {}) => ({
  format: 1,
  project: "greenhouse",
  version: "1.0.0",
  created: "2026-11-23T06:00:00Z",
  files: [file("lib/util.py"), file("main.py")],
  ...extra,
});
const problems = (extra: Record<string, unknown>) => manifestProblems(manifest(extra));
const withFiles = (...paths: string[]) => problems({ files: paths.map((p) => file(p)) });

describe("validateManifest", () => {
  it("accepts a full manifest and returns it", () => {
    const m = manifest({
      rollback: true,
      min_loader: 2,
      hooks: { post_update: "main.py", rollback: "lib/util.py" },
      files: [
        file("lib/util.py", {
          git_sha1: "c".repeat(40),
          blobs: {
            zlib: 18,
            patches: [{ encoding: "fossil", from_sha256: H("d"), sha256_of_patch: H("e"), size: 9 }],
          },
        }),
        file("main.py", { size: 0, blobs: { zlib: 8, patches: [] } }),
      ],
    });
    expect(validateManifest(m)).toBe(m);
    expect(manifestProblems(manifest({ files: [] }))).toEqual([]);
  });

  it("names each bad field of the header", () => {
    expect(problems({ format: 2 })).toEqual(["format: must be 1, not 2"]);
    expect(problems({ project: "Green House" })).toEqual([
      'project: must be a name like [a-z0-9][a-z0-9._-]{0,63}, not "Green House"',
    ]);
    expect(problems({ version: "1.0" })).toEqual([
      'version: "1.0" must be MAJOR.MINOR.PATCH (numbers without leading zeros)',
    ]);
    expect(problems({ created: "2026-11-23 06:00" })).toEqual([
      'created: must be UTC time like 2026-11-23T06:00:00Z, not "2026-11-23 06:00"',
    ]);
    expect(problems({ rollback: "yes" })).toEqual(['rollback: must be true or false, not "yes"']);
    expect(problems({ rollback_from: ["1.1.0"] })).toEqual([
      'rollback_from: only a rollback release ("rollback": true) names it',
    ]);
    expect(problems({ rollback: true, rollback_from: ["1.1.0", "0.9.0", "1.1.0", "x"] })).toEqual([
      'rollback_from[1]: "0.9.0" is not newer than the release ("1.0.0")',
      'rollback_from[2]: "1.1.0" is named twice',
      'rollback_from[3]: "x" must be MAJOR.MINOR.PATCH (numbers without leading zeros)',
    ]);
    expect(problems({ rollback: true, rollback_from: [] })).toEqual(["rollback_from: must not be empty"]);
    expect(problems({ min_loader: -1 })).toEqual(["min_loader: must be at least 0, not -1"]);
    expect(problems({ files: {} })).toEqual(["files: must be a list, not {}"]);
    expect(problems({ signed_by: "me" })).toEqual(["signed_by: unknown field"]);
    expect(manifestProblems({ format: 1, files: [] })).toEqual([
      "project: missing",
      "version: missing",
      "created: missing",
    ]);
    expect(manifestProblems([])).toEqual(["value: must be an object, not []"]);
  });

  it("names each bad field of a file entry", () => {
    expect(problems({ files: [file("a", { size: 1.5 })] })).toEqual([
      "files[0].size: must be an integer, not 1.5",
    ]);
    expect(problems({ files: [file("a", { size: MAX_FILE_SIZE + 1 })] })).toEqual([
      `files[0].size: must be at most ${MAX_FILE_SIZE}, not ${MAX_FILE_SIZE + 1}`,
    ]);
    expect(problems({ files: [file("a", { sha256: "ABC" })] })).toEqual([
      'files[0].sha256: must be 64 lowercase hex characters, not "ABC"',
    ]);
    expect(problems({ files: [file("a", { git_sha1: H("a") })] })[0]).toMatch(
      /^files\[0\]\.git_sha1: must be 40 lowercase hex characters, not "a{36}\.\.\.$/,
    );
    expect(problems({ files: [file("a", { blobs: { zlib: 0 } })] })).toEqual([
      "files[0].blobs.zlib: must be at least 1, not 0",
    ]);
    expect(problems({ files: [file("a", { blobs: {} })] })).toEqual(["files[0].blobs.zlib: missing"]);
    expect(problems({ files: [file("a", { blobs: { zlib: 5000 } })] })).toEqual([
      "files[0].blobs.zlib: 5000 is more than zlib makes of 10 bytes (74)",
    ]);
    expect(
      problems({
        files: [
          file("a", { blobs: { zlib: 9, patches: [{ encoding: "Fossil!", from_sha256: H("d"), size: 0 }] } }),
        ],
      }),
    ).toEqual([
      "files[0].blobs.patches[0].sha256_of_patch: missing",
      'files[0].blobs.patches[0].encoding: must be an encoding name like fossil, not "Fossil!"',
      "files[0].blobs.patches[0].size: must be at least 1, not 0",
    ]);
    expect(problems({ files: [file("a", { mode: 0o755 })] })).toEqual(["files[0].mode: unknown field"]);
  });

  it("accepts the blob of an incompressible file (stored blocks) and nothing larger", () => {
    const data = randomBytes(1 << 20);
    const zsize = compressBlob(data).length;
    const entry = (zlib: number) => ({ ...file("noise.bin"), size: data.length, blobs: { zlib } });
    expect(zsize).toBeGreaterThan(data.length);
    expect(problems({ files: [entry(zsize)] })).toEqual([]);
    expect(zlibBound(data.length)).toBeLessThan(data.length * 1.01);
    expect(problems({ files: [entry(zlibBound(data.length) + 1)] })).toHaveLength(1);
  });

  it("refuses every kind of bad path, naming the entry", () => {
    expect(withFiles("a", "lib/../../boot.py")).toEqual(['files[1].path: contains ".."']);
    expect(withFiles("/boot.py")).toEqual(['files[0].path: is absolute (starts with "/")']);
    expect(withFiles("")).toEqual(["files[0].path: is empty"]);
    expect(withFiles("lib//x.py")).toEqual(['files[0].path: has an empty segment ("//" or a trailing "/")']);
    expect(withFiles("lib/")).toEqual(['files[0].path: has an empty segment ("//" or a trailing "/")']);
    expect(withFiles("./main.py")).toEqual(['files[0].path: contains a "." segment']);
    expect(withFiles("lib\\x.py")).toEqual(["files[0].path: contains a backslash"]);
    expect(withFiles("main.py\0.txt")).toEqual(["files[0].path: contains a NUL character"]);
    expect(withFiles("main\n.py")).toEqual(["files[0].path: contains a control character"]);
    expect(withFiles(`${"d/".repeat(127)}xy`)).toEqual(["files[0].path: is longer than 255 bytes"]);
    expect(withFiles("a.py", "a.py")).toEqual(['files[1].path: duplicates files[0].path ("a.py")']);
    expect(withFiles("Main.py", "main.py")).toEqual([
      'files[1].path: differs only in case from files[0].path ("Main.py")',
    ]);
    expect(withFiles("main.py", "lib.py")).toEqual([
      'files[1].path: not sorted ("lib.py" must come before "main.py")',
    ]);
    expect(withFiles("lib", "lib/x.py")).toEqual([
      'files[1].path: its folder is also the file files[0].path ("lib")',
    ]);
    expect(withFiles("LIB", "lib/x.py")).toEqual([
      'files[1].path: its folder is also the file files[0].path ("LIB")',
    ]);
  });

  it("sorts paths by code point, as the device does", () => {
    // "\uff61" < "\u{1f600}" by code point, but not by UTF-16 code unit.
    expect(withFiles("a\uff61", "a\u{1f600}")).toEqual([]);
    expect(withFiles("a\u{1f600}", "a\uff61")).toHaveLength(1);
    expect(withFiles("B", "a", "c/d")).toEqual([]);
  });

  it("checks hooks name files of the release", () => {
    expect(problems({ hooks: { post_update: "setup.py" } })).toEqual([
      'hooks.post_update: "setup.py" is not a file of this release',
    ]);
    expect(problems({ hooks: { rollback: "../x.py" } })).toEqual(['hooks.rollback: contains ".."']);
    expect(problems({ hooks: { before: "main.py" } })).toEqual(["hooks.before: unknown field"]);
  });

  it("refuses a file entry whose manifest line would pass 4096 bytes", () => {
    const patches = Array.from({ length: 20 }, (_, i) => ({
      encoding: "fossil",
      from_sha256: H(String(i % 10)),
      sha256_of_patch: H("e"),
      size: 9,
    }));
    // The line of the only entry is its canonical JSON plus "\n"; fill it to exactly 4096 bytes.
    const entry = (path: string) => file(path, { blobs: { zlib: 18, patches } });
    const room = 4096 - (canonicalJson(entry("")).length + 1);
    expect(room).toBeGreaterThan(0);
    expect(room).toBeLessThan(255);
    expect(problems({ files: [entry("x".repeat(room))] })).toEqual([]);
    expect(problems({ files: [entry("x".repeat(room + 1))] })).toEqual([
      "files[0]: its line of the canonical manifest is 4097 bytes, more than 4096",
    ]);
  });

  it("throws a ManifestError listing the problems, under a prefix", () => {
    try {
      validateManifest(manifest({ version: "x", files: [file("../a")] }), "signed");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).problems).toEqual([
        'signed.version: "x" must be MAJOR.MINOR.PATCH (numbers without leading zeros)',
        'signed.files[0].path: contains ".."',
      ]);
      expect((err as Error).message).toBe((err as ManifestError).problems.join("; "));
    }
  });

  it("shortens a long list of problems in the message", () => {
    const err = new ManifestError(["1", "2", "3", "4", "5", "6", "7"]);
    expect(err.message).toBe("1; 2; 3; 4; 5; and 2 more");
  });
});

describe("validatePointer", () => {
  const pointer = (extra: Record<string, unknown> = {}) => ({
    channel: "stable",
    project: "greenhouse",
    release: "releases/1.1.0.json",
    sha256: H("f"),
    size: 900,
    version: "1.1.0",
    ...extra,
  });

  it("accepts a pointer, with or without expiry", () => {
    expect(validatePointer(pointer())).toEqual(pointer());
    expect(pointerProblems(pointer({ expires: "2026-12-23T00:00:00Z" }))).toEqual([]);
  });

  it("names each bad field", () => {
    expect(pointerProblems(pointer({ channel: "Beta" }))).toEqual([
      'channel: must be a name like [a-z0-9][a-z0-9._-]{0,63}, not "Beta"',
    ]);
    expect(pointerProblems(pointer({ release: "../releases/1.json" }))).toEqual(['release: contains ".."']);
    expect(pointerProblems(pointer({ size: 0 }))).toEqual(["size: must be at least 1, not 0"]);
    expect(pointerProblems(pointer({ version: "latest" }))[0]).toMatch(/^version: "latest" must be/);
    expect(pointerProblems(pointer({ expires: 5 }))).toEqual(["expires: must be a string, not 5"]);
    expect(pointerProblems(pointer({ sha256: undefined }), "signed")).toEqual(["signed.sha256: missing"]);
  });
});

describe("pathProblem", () => {
  it("accepts ordinary paths, dots inside names and unicode", () => {
    for (const p of ["main.py", "lib/a.b/c..d.py", ".hidden", "lib/…/ü.py", "a/..b"])
      expect(pathProblem(p), p).toBe(undefined);
  });
});
