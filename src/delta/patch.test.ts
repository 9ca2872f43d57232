import { createHash } from "node:crypto";
import { deflateSync } from "node:zlib";
import { applyDelta, createDelta } from "fossil-delta";
import { describe, expect, it } from "vitest";
import { editModule, editPairs, pythonModule, seededRng } from "../../testing/delta-corpus.ts";
import { compressBlob } from "../store/index.ts";
import { suffixArray } from "./bsdiff.ts";
import { encodeFossil, fossilChecksum } from "./fossil.ts";
import {
  applyBsdiff,
  applyPatch,
  encodeBsdiff,
  makePatch,
  PATCH_ENCODINGS,
  PatchError,
  patchPath,
} from "./index.ts";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const bytes = (text: string) => new TextEncoder().encode(text);
const want = (data: Uint8Array) => ({ size: data.length, sha256: sha256(data) });

describe("makePatch / applyPatch", () => {
  it.each(
    editPairs().flatMap(([name, from, to]) => PATCH_ENCODINGS.map((e) => [name, e, from, to] as const)),
  )("round-trips: %s, %s", (_name, encoding, from, to) => {
    const patch = makePatch(from, to, { encodings: [encoding] });
    expect(patch.encoding).toBe(encoding);
    expect(applyPatch(from, patch.bytes, encoding, want(to))).toEqual(to);
    // the stored bytes are a zlib stream with a 2^10 window: CMF 0x28 (deflate, 2^(2+8))
    expect(patch.bytes[0]).toBe(0x28);
  });

  it("a small edit of a large file makes a patch of a few dozen bytes", () => {
    const rng = seededRng(3);
    const from = bytes(pythonModule(rng, 200));
    const text = new TextDecoder().decode(from);
    const to = bytes(text.replace("return", "return 1 +"));
    const patch = makePatch(from, to);
    expect(from.length).toBeGreaterThan(50_000);
    expect(patch.bytes.length).toBeLessThan(60);
    expect(patch.bytes.length).toBeLessThan(compressBlob(to).length / 100);
  });

  it("picks the smaller encoding: Fossil for a text edit, bsdiff-seq when bytes change all over", () => {
    const rng = seededRng(12);
    const text = bytes(pythonModule(rng, 30));
    expect(makePatch(text, bytes(`${new TextDecoder().decode(text)}x = 1\n`)).encoding).toBe("fossil");
    // every 20th byte of a table shifted by one, as when offsets in compiled code move
    const table = Uint8Array.from({ length: 8000 }, () => Math.floor(rng() * 200));
    const shifted = table.map((b, i) => (i % 20 === 0 ? b + 1 : b));
    const patch = makePatch(table, shifted);
    expect(patch.encoding).toBe("bsdiff-seq");
    expect(patch.bytes.length).toBeLessThan(
      makePatch(table, shifted, { encodings: ["fossil"] }).bytes.length / 2,
    );
  });

  it("is never larger than the stock encoder's patch", () => {
    for (const [name, from, to] of editPairs()) {
      const stock = compressBlob(createDelta(from, to)).length;
      expect(makePatch(from, to).bytes.length, name).toBeLessThanOrEqual(stock);
    }
  });

  it("refuses a damaged patch, a patch for another base, and a wrong expected result", () => {
    const rng = seededRng(11);
    const from = bytes(pythonModule(rng, 10));
    const to = bytes(editModule(rng, new TextDecoder().decode(from), "insert"));
    const patch = makePatch(from, to).bytes;
    const damaged = Uint8Array.from(patch);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
    expect(() => applyPatch(from, damaged, "fossil", want(to))).toThrow(PatchError);
    expect(() => applyPatch(from, patch.subarray(0, patch.length - 5), "fossil", want(to))).toThrow(
      PatchError,
    );
    const otherBase = bytes(pythonModule(rng, 10));
    expect(() => applyPatch(otherBase, patch, "fossil", want(to))).toThrow(/does not (apply|match)/);
    expect(() => applyPatch(from, patch, "fossil", want(from))).toThrow(/does not match/);
    expect(() => applyPatch(from, patch, "vcdiff", want(to))).toThrow(/unknown patch encoding "vcdiff"/);
  });

  it("refuses a zlib stream with a window larger than the device's 1 KB", () => {
    const delta = createDelta(bytes("hello world, hello world"), bytes("hello world!"));
    const wide = new Uint8Array(deflateSync(delta, { windowBits: 15 }));
    expect(() =>
      applyPatch(bytes("hello world, hello world"), wide, "fossil", want(bytes("hello world!"))),
    ).toThrow(/invalid window size/);
  });

  it("names patches as the protocol stores them", () => {
    expect(patchPath("a".repeat(64), "b".repeat(64))).toBe(`patches/${"a".repeat(64)}-${"b".repeat(64)}.fz`);
  });
});

describe("encodeFossil", () => {
  it("writes standard Fossil deltas that the stock applier reads, checksum included", () => {
    for (const [name, from, to] of editPairs()) {
      for (const minMatch of [4, 8, 32]) {
        const delta = encodeFossil(from, to, { minMatch });
        expect(applyDelta(from, delta, { verifyChecksum: true }), `${name} minMatch ${minMatch}`).toEqual(to);
      }
    }
  });

  it("finds matches the aligned-block stock matcher cannot (short unaligned runs)", () => {
    // Every 12-byte run of the target occurs in the source, but never a whole aligned 16-byte block.
    const rng = seededRng(5);
    const from = Uint8Array.from({ length: 4000 }, () => Math.floor(rng() * 256));
    const parts: number[] = [];
    for (let i = 0; i < 100; i++) {
      const at = 1 + Math.floor(rng() * 240) * 16;
      parts.push(...from.subarray(at, at + 12), 0);
    }
    const to = Uint8Array.from(parts);
    expect(encodeFossil(from, to, { minMatch: 8 }).length).toBeLessThan(createDelta(from, to).length * 0.8);
  });

  it("computes Fossil's checksum (big-endian words, zero-padded tail)", () => {
    expect(fossilChecksum(new Uint8Array(0))).toBe(0);
    expect(fossilChecksum(Uint8Array.of(1, 2, 3, 4))).toBe(0x01020304);
    expect(fossilChecksum(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 7))).toBe(0x07000001);
  });
});

describe("bsdiff-seq", () => {
  it("sorts every suffix, the empty one first", () => {
    const rng = seededRng(2);
    for (const data of [
      bytes(""),
      bytes("banana"),
      bytes("aaaaaaa"),
      Uint8Array.from({ length: 500 }, () => Math.floor(rng() * 3)),
    ]) {
      const naive = Array.from({ length: data.length + 1 }, (_, i) => i).sort((a, b) =>
        Buffer.compare(Buffer.from(data.subarray(a)), Buffer.from(data.subarray(b))),
      );
      expect(Array.from(suffixArray(data))).toEqual(naive);
    }
  });

  it("refuses streams that end early, read outside the old file, or run past the size", () => {
    const from = bytes("hello world, hello world");
    const to = bytes("hello World, hello world!");
    const delta = encodeBsdiff(from, to);
    expect(applyBsdiff(from, delta)).toEqual(to);
    expect(() => applyBsdiff(from, delta.subarray(0, delta.length - 1))).toThrow(/ends early/);
    expect(() => applyBsdiff(from.subarray(0, 5), delta)).toThrow(/outside the old file/);
    expect(() => applyBsdiff(from, Uint8Array.of(2, 5, 0, 0, 0, 0))).toThrow(/larger than 2 bytes/);
    expect(() => applyBsdiff(from, Uint8Array.of(...delta, 0))).toThrow(/bytes follow the end/);
  });
});
