/** device/mpota/patch.py on the virtual device, against patches made by src/delta. */
import { createHash } from "node:crypto";
import { deflateSync } from "node:zlib";
import { createDelta } from "fossil-delta";
import { describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import { editModule, editPairs, pythonModule, seededRng } from "../../testing/delta-corpus.ts";
import { COPY_HEX_CASES } from "../delta/copy-hex-cases.ts";
import { encodeBsdiff, encodeCopyHex, makePatch, PATCH_ENCODINGS } from "../delta/index.ts";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const utf8 = (text: string) => new TextEncoder().encode(text);
/** A number in Fossil's base-64 digits. */
const fossilInt = (n: number): string => (n < 64 ? "" : fossilInt(Math.floor(n / 64))) + DIGITS[n % 64];
const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";

interface DeviceCase {
  name: string;
  from: Uint8Array;
  patch: Uint8Array;
  /** The file the patch must make (size and hash given to apply()). */
  to: Uint8Array;
  /** Apply against this file instead of `from` (a wrong base). */
  base?: Uint8Array;
  /** The encoding the device is told (default: "fossil"). */
  encoding?: string;
}

interface DeviceResult {
  ok: boolean;
  code?: string;
  message?: string;
  heap: number;
  out?: string;
}

/** Applies every case on one device with a 4 KB buffer made beforehand, as install.py does. */
async function applyOnDevice(cases: DeviceCase[]): Promise<Record<string, DeviceResult>> {
  const files: Record<string, Uint8Array> = {};
  const jobs = cases.map((c, i) => {
    files[`c${i}.old`] = c.base ?? c.from;
    files[`c${i}.fz`] = c.patch;
    return [c.name, `c${i}`, c.to.length, sha256(c.to), c.encoding ?? "fossil"];
  });
  const script = `
import gc, json, binascii, hashlib
from mpota import patch
from mpota.errors import UpdateError
import deflate  # imported by the install anyway: the first import is not the patch's cost
buf = memoryview(bytearray(4096))
out = {}
for name, stem, size, digest, encoding in ${JSON.stringify(jobs)}:
    before = gc.mem_alloc()
    try:
        patch.apply(stem + ".old", stem + ".fz", stem + ".new", size, digest, buf, encoding)
        heap = gc.mem_alloc() - before
        h = hashlib.sha256()
        with open(stem + ".new", "rb") as f:
            h.update(f.read())
        out[name] = {"ok": True, "heap": heap, "out": binascii.hexlify(h.digest()).decode()}
    except UpdateError as e:
        out[name] = {"ok": False, "heap": gc.mem_alloc() - before, "code": e.code, "message": e.message}
print(json.dumps(out))
`;
  const { value } = await runDeviceScript(script, files);
  return value as Record<string, DeviceResult>;
}

describe("patch.py on the device", () => {
  it("applies patches of every kind of edit in both encodings and checks the result's sha256", async () => {
    const cases = editPairs().flatMap(([name, from, to]) =>
      PATCH_ENCODINGS.map((encoding) => ({
        name: `${name}, ${encoding}`,
        from,
        to,
        encoding,
        patch: makePatch(from, to, { encodings: [encoding] }).bytes,
      })),
    );
    const results = await applyOnDevice(cases);
    for (const c of cases) {
      const r = results[c.name]!;
      expect(r, c.name).toMatchObject({ ok: true, out: sha256(c.to) });
    }
  });

  it("refuses damaged patches, wrong bases, wide windows and trailing bytes with a patch error", async () => {
    const rng = seededRng(21);
    const from = utf8(pythonModule(rng, 12));
    const to = utf8(editModule(rng, new TextDecoder().decode(from), "insert"));
    const good = makePatch(from, to, { encodings: ["fossil"] }).bytes;
    const bsdiff = makePatch(from, to, { encodings: ["bsdiff-seq"] }).bytes;
    const raw = encodeBsdiff(from, to);
    const bs = { from, to, encoding: "bsdiff-seq" };
    const flipped = Uint8Array.from(good);
    flipped[Math.floor(good.length / 2)]! ^= 0x20;
    const delta = createDelta(from, to);
    const z = (data: Uint8Array | string) => new Uint8Array(deflateSync(data, { level: 9, windowBits: 10 }));
    const cases: DeviceCase[] = [
      { name: "flipped byte", from, to, patch: flipped },
      { name: "truncated", from, to, patch: good.subarray(0, good.length - 9) },
      { name: "not zlib", from, to, patch: utf8("this is not a zlib stream") },
      { name: "wrong base", from, to, patch: good, base: utf8(pythonModule(rng, 12)) },
      { name: "wrong base, too short", from, to, patch: good, base: from.subarray(0, 100) },
      { name: "window 2^15", from, to, patch: new Uint8Array(deflateSync(delta, { windowBits: 15 })) },
      { name: "unknown command", from, to, patch: z(`${fossilInt(to.length)}\n3#abc0;`) },
      { name: "other size", from, to, patch: z(`5\n5:hello0;`) },
      { name: "too long", from, to, patch: z(`${fossilInt(to.length)}\n${"1:x".repeat(to.length + 1)}0;`) },
      { name: "number too long", from, to, patch: z(`${fossilInt(to.length)}\nzzzzzzzzzzzz:`) },
      { name: "ends early", from, to, patch: z(`${fossilInt(to.length)}\n`) },
      { name: "bytes after the end", from, to, patch: z(Buffer.concat([delta, utf8("7:garbage")])) },
      { name: "not the file wanted", from, to: from, patch: good },
      { name: "unknown encoding", from, to, patch: good, encoding: "vcdiff" },
      { name: "bsdiff-seq: fossil patch", ...bs, patch: good },
      { name: "bsdiff-seq: truncated", ...bs, patch: bsdiff.subarray(0, bsdiff.length - 9) },
      { name: "bsdiff-seq: wrong base", ...bs, patch: bsdiff, base: utf8(pythonModule(rng, 12)) },
      { name: "bsdiff-seq: base too short", ...bs, patch: bsdiff, base: from.subarray(0, 100) },
      { name: "bsdiff-seq: ends early", ...bs, patch: z(raw.subarray(0, raw.length - 1)) },
      { name: "bsdiff-seq: bytes after the end", ...bs, patch: z(Uint8Array.of(...raw, 0)) },
      { name: "bsdiff-seq: too long", ...bs, patch: z(Uint8Array.of(...raw.subarray(0, 2), 0x7f, 0x7f)) },
      {
        name: "bsdiff-seq: seeks before 0",
        ...bs,
        patch: z(Uint8Array.of(...raw.subarray(0, 2), 0, 0, 3, 1)),
      },
    ];
    const results = await applyOnDevice(cases);
    for (const c of cases) {
      expect(results[c.name], c.name).toMatchObject({ ok: false, code: "patch" });
      expect(results[c.name]!.message, c.name).toMatch(/^the patch does not apply: /);
    }
    expect(results["wrong base"]!.message).toMatch(/sha256|past the end/);
    expect(results["window 2^15"]!.message).toMatch(/window of at most 1 KB/);
    expect(results["too long"]!.message).toMatch(/larger than/);
    expect(results["number too long"]!.message).toMatch(/number is too long/);
    expect(results["ends early"]!.message).toMatch(/ends early/);
    expect(results["bytes after the end"]!.message).toMatch(/bytes follow the end/);
    expect(results["unknown command"]!.message).toMatch(/unknown command '#'/);
    expect(results["unknown encoding"]!.message).toMatch(/unknown encoding vcdiff/);
    expect(results["bsdiff-seq: wrong base"]!.message).toMatch(/sha256|past the end/);
    expect(results["bsdiff-seq: base too short"]!.message).toMatch(/past the end of the old file/);
    expect(results["bsdiff-seq: ends early"]!.message).toMatch(/ends (early|inside)/);
    expect(results["bsdiff-seq: bytes after the end"]!.message).toMatch(/bytes follow the end/);
    expect(results["bsdiff-seq: seeks before 0"]!.message).toMatch(/before the start/);
  });

  it("applies copy-hex deltas (an envelope's, in check answers), which come without zlib", async () => {
    const hex = (text: string) => createHash("sha256").update(text).digest("hex");
    const envelope = (n: number) =>
      utf8(
        `{"sig":"${hex(`a${n}`)}${hex(`b${n}`)}"}\n{"path":"a.py","sha256":"${hex(`c${n}`)}","size":${90 + n}},\n]\n`,
      );
    const pairs: [string, Uint8Array, Uint8Array][] = [
      ["envelope", envelope(1), envelope(12)],
      ...editPairs().map(([name, from, to]): [string, Uint8Array, Uint8Array] => [name, from, to]),
    ];
    const cases = pairs.map(([name, from, to]) => ({
      name,
      from,
      to,
      encoding: "copy-hex",
      patch: encodeCopyHex(from, to),
    }));
    const results = await applyOnDevice(cases);
    for (const c of cases) expect(results[c.name], c.name).toMatchObject({ ok: true, out: sha256(c.to) });
  });

  it.each(COPY_HEX_CASES)("copy-hex: refuses a damaged delta as src/delta does ($name)", async (c) => {
    const results = await applyOnDevice([
      {
        name: c.name,
        from: utf8(c.old),
        to: new Uint8Array(c.size),
        patch: Uint8Array.from(c.delta),
        encoding: "copy-hex",
      },
    ]);
    expect(results[c.name]).toMatchObject({ ok: false, code: "patch" });
    expect(results[c.name]!.message).toBe(`the patch does not apply: ${c.error}`);
  });

  it.each([...PATCH_ENCODINGS, "copy-hex" as const])(
    "%s: allocates the same heap for a 5 KB and a 360 KB file with the same edit, and for 800 commands as for 3",
    async (encoding) => {
      const rng = seededRng(8);
      const cases: DeviceCase[] = [];
      const make = (from: Uint8Array, to: Uint8Array) =>
        encoding === "copy-hex"
          ? encodeCopyHex(from, to)
          : makePatch(from, to, { encodings: [encoding] }).bytes;
      const add = (name: string, from: Uint8Array, to: Uint8Array) =>
        cases.push({ name, from, to, encoding, patch: make(from, to) });
      for (const functions of [8, 800]) {
        const text = pythonModule(rng, functions);
        const from = utf8(text);
        add(`${functions}`, from, utf8(`# a new first line\n${text}# a new last line\n`)); // the same edit
        const flipped = Uint8Array.from(from);
        for (let i = 0; i < 400; i++) flipped[Math.floor((i * from.length) / 400)]! ^= 1; // up to 800 commands
        add(`${functions} flipped`, from, flipped);
        add(`${functions} literal`, new Uint8Array(0), from.subarray(7)); // the whole file through the delta
      }
      const results = await applyOnDevice(cases);
      expect(cases[3]!.from.length).toBeGreaterThan(50 * cases[0]!.from.length);
      for (const r of Object.values(results)) expect(r.ok).toBe(true);
      expect(Math.abs(results["800"]!.heap - results["8"]!.heap)).toBeLessThanOrEqual(64);
      expect(Math.abs(results["800 literal"]!.heap - results["8 literal"]!.heap)).toBeLessThanOrEqual(64);
      // hundreds of commands cost about what three do (a slice per command would be 10 KB here)
      expect(results["800 flipped"]!.heap - results["800"]!.heap).toBeLessThanOrEqual(256);
      expect(results["8 flipped"]!.heap - results["8"]!.heap).toBeLessThanOrEqual(256);
      for (const r of Object.values(results)) expect(r.heap).toBeLessThan(8 * 1024);
    },
  );
});
