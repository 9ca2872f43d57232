import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  channelPointer,
  envelopeBytes,
  generateKeyPair,
  sha256Hex,
  signEnvelope,
} from "../manifest/index.ts";
import { MAX_ATTACHED_PACK } from "../rules/index.ts";
import {
  ANSWER_FORMATS,
  answerPack,
  applyCopyHex,
  checkAnswer,
  decodePack,
  decodePackTo,
  encodePack,
  MAX_PACK_RECORDS,
  makeEnvelopePatch,
  makePack,
  PACK_MAGIC,
  type PackRecord,
  PatchError,
} from "./index.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const bytes = (text: string) => Buffer.from(text);

const envelope: PackRecord = { kind: "e", sha256: sha256("envelope"), data: bytes("envelope patch") };

describe("encodePack / decodePack", () => {
  it("round-trips every kind, with 8-byte keys and LEB128 lengths of one to three bytes", () => {
    const records: PackRecord[] = [
      envelope,
      { kind: "z", sha256: sha256("a"), data: bytes("a") },
      { kind: "f", sha256: sha256("b"), data: Buffer.alloc(200, 1) },
      { kind: "b", sha256: sha256("c"), data: Buffer.alloc(20_000, 2) },
    ];
    const pack = encodePack(records);
    expect(pack.subarray(0, 4).toString("latin1")).toBe(PACK_MAGIC);
    // magic, then per record kind + key + length + data
    expect(pack.length).toBe(4 + (1 + 8) * 4 + 14 + 1 + 1 + 1 + 200 + 2 + 20_000 + 3);
    expect(decodePack(pack)).toEqual(
      records.map((r) => ({ kind: r.kind, key: r.sha256.slice(0, 16), data: Buffer.from(r.data) })),
    );
  });

  it("refuses to encode what it could not decode", () => {
    expect(() => encodePack([{ ...envelope, data: new Uint8Array(0) }])).toThrow("a pack record holds 1 to");
    expect(() => encodePack([{ ...envelope, kind: "x" as "e" }])).toThrow("a pack record needs a kind");
    expect(() => encodePack([{ ...envelope, sha256: "nothex" }])).toThrow("a sha256 in hex");
    expect(() => encodePack(Array.from({ length: MAX_PACK_RECORDS + 1 }, () => envelope))).toThrow(
      `a pack holds at most ${MAX_PACK_RECORDS} records`,
    );
  });

  const good = encodePack([envelope, { kind: "z", sha256: sha256("a"), data: bytes("abc") }]);
  const second = 4 + 9 + 1 + 14; // where the second record starts
  const damaged: Array<[string, Uint8Array, string]> = [
    ["no magic", Buffer.concat([bytes("MPK2"), good.subarray(4)]), "not an update pack (no MPK1)"],
    ["too short for the magic", bytes("MP"), "not an update pack (no MPK1)"],
    ["no records", bytes("MPK1"), "a pack starts with the envelope's record (kind e or h)"],
    [
      "an unknown kind",
      Buffer.concat([good.subarray(0, second), bytes("q"), good.subarray(second + 1)]),
      `unknown pack record kind "q" at byte ${second}`,
    ],
    [
      "a file record first",
      encodePack([{ kind: "z", sha256: sha256("a"), data: bytes("abc") }]),
      "a pack starts with the envelope's record (kind e or h)",
    ],
    [
      "a second envelope record",
      encodePack([envelope, envelope]),
      `a second envelope record at byte ${second}`,
    ],
    ["a key cut short", good.subarray(0, second + 5), `truncated pack record at byte ${second}`],
    ["no length", good.subarray(0, second + 9), `bad record length at byte ${second + 9}`],
    [
      "a length of five LEB128 bytes",
      Buffer.concat([good.subarray(0, second + 9), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01])]),
      `bad record length at byte ${second + 13}`,
    ],
    [
      "an empty record",
      Buffer.concat([good.subarray(0, second + 9), Buffer.from([0])]),
      `empty pack record at byte ${second + 10}`,
    ],
    ["data cut short", good.subarray(0, good.length - 1), `truncated pack record at byte ${second + 10}`],
  ];

  it.each(damaged)("refuses a damaged pack (%s) with a PatchError naming it", (_name, pack, message) => {
    expect(() => decodePack(pack)).toThrow(PatchError);
    expect(() => decodePack(pack)).toThrow(message);
  });

  it("decodePackTo refuses a pack that leads to another envelope", () => {
    expect(decodePackTo(good, envelope.sha256)).toHaveLength(2);
    const other = sha256("another envelope");
    expect(() => decodePackTo(good, other)).toThrow(
      `its envelope record makes an envelope whose sha256 starts ${envelope.sha256.slice(0, 16)}, not ${other.slice(0, 16)}`,
    );
  });

  it("reads a pack that is only the envelope's record, and one inside a larger buffer", () => {
    const pack = encodePack([envelope]);
    const inside = Buffer.concat([Buffer.alloc(7), pack]).subarray(7);
    expect(decodePack(new Uint8Array(inside.buffer, inside.byteOffset, inside.length))).toHaveLength(1);
  });
});

describe("makePack", () => {
  const file = (path: string, content: string) => ({ path, sha256: sha256(content) });
  const blobs = new Map<string, Uint8Array>();
  const readBlob = (sha: string) => {
    const data = blobs.get(sha);
    if (!data) throw new Error(`no blob ${sha}`);
    return data;
  };
  for (const content of ["a2", "c1", "d1", "e1", "a1"])
    blobs.set(sha256(content), bytes(`zlib of ${content}`));

  it("the envelope patch, then per file to install: the patch from the same path, else the blob; copies skipped", () => {
    const from = [file("a.py", "a1"), file("b.py", "b1"), file("d.py", "d0"), file("e.py", "e0")];
    const to = [
      file("a.py", "a2"), // patched from a1
      file("b.py", "b1"), // the same: copied by the board
      file("c.py", "c1"), // new: its blob
      file("d.py", "d1"), // changed, but the patch made is from another release's d.py: its blob
      file("e.py", "e1"), // changed, no patch made (not smaller than the blob): its blob
      file("f.py", "a2"), // the same content as a.py, already in the pack
    ];
    const patches = [
      { fromSha256: sha256("a1"), toSha256: sha256("a2"), encoding: "fossil" as const, data: bytes("fa") },
      {
        fromSha256: sha256("dX"),
        toSha256: sha256("d1"),
        encoding: "bsdiff-seq" as const,
        data: bytes("bd"),
      },
      {
        fromSha256: sha256("c0"),
        toSha256: sha256("c1"),
        encoding: "bsdiff-seq" as const,
        data: bytes("bc"),
      },
    ];
    const pack = makePack({
      from,
      to,
      envelope: { sha256: envelope.sha256, patch: envelope.data },
      patches,
      readBlob,
    });
    const records = decodePack(pack).map((r) => [r.kind, r.key, Buffer.from(r.data).toString()]);
    const key = (content: string) => sha256(content).slice(0, 16);
    expect(records).toEqual([
      ["e", envelope.sha256.slice(0, 16), "envelope patch"],
      ["f", key("a2"), "fa"],
      ["z", key("c1"), "zlib of c1"],
      ["z", key("d1"), "zlib of d1"],
      ["z", key("e1"), "zlib of e1"],
    ]);
  });

  it("takes bsdiff-seq patches as kind b, and from a release with no files every blob", () => {
    const to = [file("a.py", "a2")];
    const patch = { fromSha256: sha256("a1"), toSha256: sha256("a2"), encoding: "bsdiff-seq" as const };
    const envelopeArgs = { sha256: envelope.sha256, patch: envelope.data };
    const patched = makePack({
      from: [file("a.py", "a1")],
      to,
      envelope: envelopeArgs,
      patches: [{ ...patch, data: bytes("b") }],
      readBlob,
    });
    expect(decodePack(patched).map((r) => r.kind)).toEqual(["e", "b"]);
    const fresh = makePack({ from: [], to, envelope: envelopeArgs, patches: [], readBlob });
    expect(decodePack(fresh).map((r) => r.kind)).toEqual(["e", "z"]);
  });
});

describe("checkAnswer", () => {
  const envelopeOf = bytes("1.1.0's envelope");
  const signed = channelPointer({ channel: "stable", project: "p", version: "1.1.0", envelope: envelopeOf });
  const pointer = envelopeBytes({ signed, signatures: [] });
  // An unsigned pointer without what the board knows: project, channel, release path.
  const line = Buffer.concat([
    bytes(`1.1.0 ${envelopeOf.length}\n`),
    Buffer.from(sha256("1.1.0's envelope"), "hex"),
  ]);
  const compact = bytes(
    `{"signatures":[],"signed":\n{"sha256":"${sha256("1.1.0's envelope")}","size":${envelopeOf.length},"version":"1.1.0"}\n}\n`,
  );
  const from = sha256("1.0.0's envelope");

  it("is the pointer, then the envelope the pack starts from (8 bytes of its sha256), then the pack", () => {
    const pack = encodePack([envelope]);
    expect(checkAnswer(pointer, "up", { fromSha256: from, pack })).toEqual(
      Buffer.concat([line, Buffer.from(from.slice(0, 16), "hex"), pack]),
    );
    // The format of the first check answers: a JSON pointer and 16 hex digits.
    expect(checkAnswer(pointer, "pack", { fromSha256: from, pack })).toEqual(
      Buffer.concat([compact, bytes(from.slice(0, 16)), pack]),
    );
  });

  it("is the pointer alone without a pack, or with one over MAX_ATTACHED_PACK bytes", () => {
    expect(checkAnswer(pointer, "up")).toEqual(line);
    expect(checkAnswer(pointer, "pack")).toEqual(compact);
    const big = { fromSha256: from, pack: Buffer.alloc(MAX_ATTACHED_PACK + 1) };
    expect(checkAnswer(pointer, "up", big)).toEqual(line);
    const fits = { fromSha256: from, pack: Buffer.alloc(MAX_ATTACHED_PACK) };
    expect(checkAnswer(pointer, "up", fits)).toHaveLength(line.length + 8 + MAX_ATTACHED_PACK);
    expect(checkAnswer(pointer, "pack", fits)).toHaveLength(compact.length + 16 + MAX_ATTACHED_PACK);
  });

  it("keeps a signed pointer as it is, and an unsigned one's expiry (in JSON)", () => {
    const key = generateKeyPair();
    const expiring = { ...signed, expires: "2027-01-01T00:00:00Z" };
    const signedPointer = envelopeBytes(signEnvelope(expiring, [key]));
    for (const format of ANSWER_FORMATS) {
      expect(checkAnswer(signedPointer, format)).toEqual(signedPointer);
      const unsigned = checkAnswer(envelopeBytes({ signed: expiring, signatures: [] }), format).toString();
      expect(unsigned).toContain('"expires":"2027-01-01T00:00:00Z"');
      expect(unsigned).not.toContain('"project"');
    }
  });
});

describe("answerPack", () => {
  const lineOf = (path: string, sha: string, size: number) =>
    `{"blobs":{"zlib":${size - 7}},"path":"${path}","sha256":"${sha}","size":${size}},\n`;
  const envelopeWith = (sig: string, files: string) =>
    bytes(
      `{"signatures":[{"keyid":"0d38b3031b408083","sig":"${sig}"}],"signed":\n{"files":[\n${files}],"version":"1.0.0"}\n}\n`,
    );
  const [sig1, sig2] = [sha256("1") + sha256("2"), sha256("3") + sha256("4")];
  const old = envelopeWith(sig1, lineOf("a.py", sha256("a"), 900) + lineOf("b.py", sha256("b"), 80));
  const next = envelopeWith(sig2, lineOf("a.py", sha256("c"), 901) + lineOf("b.py", sha256("b"), 80));
  const fossil = makeEnvelopePatch(old, next)!;
  const stored = encodePack([
    { kind: "e", sha256: sha256Hex(next), data: fossil },
    { kind: "z", sha256: "4".repeat(64), data: bytes("blob") },
  ]);

  it('carries the envelope\'s patch in copy-hex (kind h) in "up", the file records as they are', () => {
    const records = decodePack(answerPack(stored, "up", old, next));
    expect(records.map((r) => r.kind)).toEqual(["h", "z"]);
    expect(records[0]!.key).toBe(sha256Hex(next).slice(0, 16));
    expect(records[0]!.data.length).toBeLessThan(fossil.length);
    expect(Buffer.from(applyCopyHex(old, records[0]!.data, next.length))).toEqual(next);
    expect(Buffer.from(records[1]!.data)).toEqual(bytes("blob"));
  });

  it('keeps the stored pack in "pack", and refuses kind h in a stored pack', () => {
    expect(answerPack(stored, "pack", old, next)).toEqual(stored);
    expect(() => decodePackTo(answerPack(stored, "up", old, next), sha256Hex(next))).toThrow(
      "a stored pack's envelope record is a Fossil patch (kind e)",
    );
  });
});
