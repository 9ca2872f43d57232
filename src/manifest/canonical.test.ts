import { describe, expect, it } from "vitest";
import { canonicalBytes, canonicalJson } from "./canonical.ts";
import { ManifestError } from "./errors.ts";

const H = (c: string) => c.repeat(64);

describe("canonicalJson", () => {
  it("writes a manifest exactly as docs/protocol.md shows it (golden bytes)", () => {
    const manifest = {
      version: "1.1.0",
      project: "greenhouse",
      format: 1,
      files: [
        { size: 812, sha256: H("a"), path: "lib/util.py", blobs: { zlib: 400, patches: [] } },
        { path: "main.py", blobs: { zlib: 600 }, sha256: H("b"), size: 1203 },
      ],
      created: "2026-11-23T06:00:00Z",
    };
    expect(canonicalJson(manifest)).toBe(
      '{"created":"2026-11-23T06:00:00Z","files":[\n' +
        `{"blobs":{"patches":[],"zlib":400},"path":"lib/util.py","sha256":"${H("a")}","size":812},\n` +
        `{"blobs":{"zlib":600},"path":"main.py","sha256":"${H("b")}","size":1203}\n` +
        '],"format":1,"project":"greenhouse","version":"1.1.0"}',
    );
  });

  it("writes an empty files list as an opened and closed line", () => {
    expect(canonicalJson({ files: [], a: 1 })).toBe('{"a":1,"files":[\n]}');
  });

  it("puts only the top-level files list on lines", () => {
    expect(canonicalJson({ x: { files: [1, 2] }, files: [{ files: [3] }] })).toBe(
      '{"files":[\n{"files":[3]}\n],"x":{"files":[1,2]}}',
    );
    expect(canonicalJson([{ files: [1] }])).toBe('[{"files":[1]}]');
  });

  it("sorts keys by UTF-16 code units, drops undefined fields, keeps null and booleans", () => {
    expect(
      canonicalJson({ b: true, a: null, B: false, _: undefined, é: 1, "\u{1f600}": 2, "\uff61": 3 }),
    ).toBe('{"B":false,"a":null,"b":true,"é":1,"\u{1f600}":2,"\uff61":3}');
  });

  it("escapes strings as JSON.stringify does, so no newline appears but the files lines", () => {
    const text = canonicalJson({ s: 'line\nbreak "quoted" \\ \u0001 ü' });
    expect(text).toBe('{"s":"line\\nbreak \\"quoted\\" \\\\ \\u0001 ü"}');
    expect(canonicalBytes({ s: "ü" })).toEqual(Buffer.from('{"s":"ü"}', "utf8"));
  });

  it("writes integers plainly and refuses floats, NaN and unsafe integers naming the field", () => {
    expect(canonicalJson({ n: -0, m: 2 ** 53 - 1 })).toBe('{"m":9007199254740991,"n":0}');
    expect(() => canonicalJson({ files: [{ size: 1.5 }] })).toThrow(
      "files[0].size: 1.5 is not an integer below 2^53 (canonical JSON has no floats)",
    );
    expect(() => canonicalJson({ a: { b: Number.NaN } })).toThrow("a.b: NaN is not an integer");
    expect(() => canonicalJson({ big: 2 ** 53 })).toThrow(ManifestError);
    expect(() => canonicalJson(0.1)).toThrow("value: 0.1 is not an integer");
  });

  it("refuses values JSON cannot carry", () => {
    expect(() => canonicalJson({ when: new Date(0) })).toThrow(
      "when: cannot be written as canonical JSON (Date)",
    );
    expect(() => canonicalJson({ f: () => 1 })).toThrow("f: cannot be written as canonical JSON (function)");
    expect(() => canonicalJson({ n: 1n })).toThrow("n: cannot be written as canonical JSON (bigint)");
    expect(() => canonicalJson([undefined])).toThrow("[0]: cannot be written as canonical JSON (undefined)");
  });

  it("parses back to the same value", () => {
    const value = { files: [{ path: "a", n: [1, { z: "x" }] }], other: { k: [true, null] } };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });
});
