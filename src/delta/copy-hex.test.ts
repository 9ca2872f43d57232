import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { COPY_HEX_CASES } from "./copy-hex-cases.ts";
import { applyCopyHex, encodeCopyHex, makeEnvelopePatch, PatchError } from "./index.ts";

const bytes = (text: string) => Buffer.from(text, "latin1");
const hex = (text: string) => createHash("sha256").update(text).digest("hex");

describe("encodeCopyHex / applyCopyHex", () => {
  it("copies the unchanged lines, writes a replaced sha256 as 32 bytes in place, and is smaller than Fossil", () => {
    const line = (sha: string, size: number) => `{"path":"a.py","sha256":"${sha}","size":${size}},\n`;
    const old = bytes(`{"sig":"${hex("1") + hex("2")}"}\n${"x".repeat(500)}\n${line(hex("a"), 900)}]\n`);
    const next = bytes(`{"sig":"${hex("3") + hex("4")}"}\n${"x".repeat(500)}\n${line(hex("b"), 901)}]\n`);
    const delta = encodeCopyHex(old, next);
    expect(Buffer.from(applyCopyHex(old, delta, next.length))).toEqual(next);
    // the size, two hex writes of 64 and 32 bytes, the copies and "901"
    expect(delta.length).toBeLessThan(64 + 32 + 20);
    expect(delta.length).toBeLessThan(makeEnvelopePatch(old, next)!.length);
  });

  it("makes any target from any source: new, dropped and moved lines, no line break at the end", () => {
    const pairs: [string, string][] = [
      ["", "new\n"],
      ["old\n", ""],
      ["a\nb\nc\n", "c\nb\na"],
      ['{"path":"x","sha256":"00"}\n', '{"path":"y","sha256":"00"}\n{"path":"x","sha256":"ff"}\n'],
      ["same\n", "same\n"],
      [`${"0123456789abcdef".repeat(8)}\n`, `${"fedcba9876543210".repeat(8)}1\n`],
    ];
    for (const [from, to] of pairs) {
      const delta = encodeCopyHex(bytes(from), bytes(to));
      expect(Buffer.from(applyCopyHex(bytes(from), delta, to.length)).toString("latin1")).toBe(to);
    }
  });

  it.each(COPY_HEX_CASES)("refuses a damaged delta: $name", ({ old, delta, size, error }) => {
    expect(() => applyCopyHex(bytes(old), Uint8Array.from(delta), size)).toThrow(PatchError);
    expect(() => applyCopyHex(bytes(old), Uint8Array.from(delta), size)).toThrow(error);
  });
});
