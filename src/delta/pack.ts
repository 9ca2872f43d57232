/**
 * Update packs (docs/protocol.md, "Update packs"): all a board on one release downloads to move to the
 * next, in one file and one request. A pack from release A to release B holds the patch from A's envelope
 * to B's, then, for each file of B the board cannot copy from its running slot (same path, same sha256),
 * a patch from A's file at the same path when one was made, else the file's whole zlib blob.
 *
 * Nothing in a pack is trusted: the envelope it rebuilds must have the pointer's size and sha256 and a
 * valid signature, and each file must have the size and sha256 of its signed entry. So a pack needs no
 * signature and no index; a damaged or missing pack only costs the board the downloads it saved.
 *
 * Layout: the magic "MPK1", then records: a kind (one ASCII byte), a key (the first 8 bytes of the
 * sha256 of what the record makes), the data's length (unsigned LEB128, at most 4 bytes), the data.
 */
import { envelopeBytes, parsePointerEnvelope } from "../manifest/index.ts";
import { MAX_ATTACHED_PACK, MAX_BLOB_BYTES, MAX_FILES, PACK_NAME_HEX } from "../rules/index.ts";
import { encodeCopyHex } from "./copy-hex.ts";
import { PatchError } from "./errors.ts";
import type { PatchEncoding } from "./patch.ts";

export const PACK_MAGIC = "MPK1";

/**
 * e: the envelope's patch (Fossil + zlib); h: the envelope's patch in copy-hex (src/delta/copy-hex.ts; in
 * check answers of format "up" only); z: a file's whole zlib blob; f / b: a file's patch from the running
 * release's file at the same path, Fossil or bsdiff-seq (in the zlib container).
 */
export type PackKind = "e" | "h" | "z" | "f" | "b";
const ENVELOPE_KINDS = new Set<string>(["e", "h"]);
export const PATCH_KINDS: Record<PatchEncoding, PackKind> = { fossil: "f", "bsdiff-seq": "b" };
const KINDS = new Set<string>(["e", "h", "z", "f", "b"]);
/** Bytes of a record's key: enough to tell the files of one release apart (a board checks the whole hash). */
export const PACK_KEY_BYTES = 8;
/** Records of a pack: the envelope and one per file. */
export const MAX_PACK_RECORDS = MAX_FILES + 1;

export interface PackRecord {
  kind: PackKind;
  /** The sha256 (hex) of what the record makes: the new envelope, or the file; only its first 8 bytes are sent. */
  sha256: string;
  data: Uint8Array;
}

function uleb128(n: number): number[] {
  const out: number[] = [];
  do {
    const byte = n & 0x7f;
    n = Math.floor(n / 128);
    out.push(n ? byte | 0x80 : byte);
  } while (n);
  return out;
}

/** The pack's bytes; the envelope's record comes first. */
export function encodePack(records: readonly PackRecord[]): Buffer {
  if (records.length > MAX_PACK_RECORDS)
    throw new PatchError(`a pack holds at most ${MAX_PACK_RECORDS} records, not ${records.length}`);
  const parts: Uint8Array[] = [Buffer.from(PACK_MAGIC, "latin1")];
  for (const r of records) {
    if (!KINDS.has(r.kind) || !/^[0-9a-f]{16}/.test(r.sha256))
      throw new PatchError(`a pack record needs a kind of ${[...KINDS].join(" ")} and a sha256 in hex`);
    if (r.data.length < 1 || r.data.length > MAX_BLOB_BYTES)
      throw new PatchError(`a pack record holds 1 to ${MAX_BLOB_BYTES} bytes, not ${r.data.length}`);
    parts.push(
      Buffer.from(r.kind, "latin1"),
      Buffer.from(r.sha256.slice(0, PACK_KEY_BYTES * 2), "hex"),
      Uint8Array.from(uleb128(r.data.length)),
      r.data,
    );
  }
  return Buffer.concat(parts);
}

export interface DecodedRecord {
  kind: PackKind;
  /** The first 8 bytes of the sha256 of what the record makes, in hex. */
  key: string;
  data: Uint8Array;
}

/**
 * The records of a pack (the envelope's first, and only there); PatchError naming what is wrong with a
 * damaged one.
 */
export function decodePack(bytes: Uint8Array): DecodedRecord[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.subarray(0, 4).toString("latin1") !== PACK_MAGIC)
    throw new PatchError("not an update pack (no MPK1)");
  const out: DecodedRecord[] = [];
  let at = 4;
  while (at < buf.length) {
    const kind = String.fromCharCode(buf[at]!);
    if (!KINDS.has(kind))
      throw new PatchError(`unknown pack record kind ${JSON.stringify(kind)} at byte ${at}`);
    if (out.length === 0 ? !ENVELOPE_KINDS.has(kind) : ENVELOPE_KINDS.has(kind))
      throw new PatchError(
        out.length === 0
          ? "a pack starts with the envelope's record (kind e or h)"
          : `a second envelope record at byte ${at}`,
      );
    if (at + 1 + PACK_KEY_BYTES > buf.length) throw new PatchError(`truncated pack record at byte ${at}`);
    const key = buf.subarray(at + 1, at + 1 + PACK_KEY_BYTES).toString("hex");
    at += 1 + PACK_KEY_BYTES;
    let length = 0;
    for (let shift = 0, i = 0; ; shift += 7, i++) {
      if (i === 4 || at >= buf.length) throw new PatchError(`bad record length at byte ${at}`);
      const byte = buf[at++]!;
      length += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) break;
    }
    if (length < 1) throw new PatchError(`empty pack record at byte ${at}`);
    if (at + length > buf.length) throw new PatchError(`truncated pack record at byte ${at}`);
    out.push({ kind: kind as PackKind, key, data: buf.subarray(at, at + length) });
    at += length;
    if (out.length > MAX_PACK_RECORDS) throw new PatchError(`more than ${MAX_PACK_RECORDS} pack records`);
  }
  if (out.length === 0) throw new PatchError("a pack starts with the envelope's record (kind e or h)");
  return out;
}

/** decodePack of a pack that must lead to the envelope whose sha256 is `toSha256` (hex). */
export function decodePackTo(bytes: Uint8Array, toSha256: string): DecodedRecord[] {
  const records = decodePack(bytes);
  // Kind h is a check answer's: a stored pack goes to boards that read only Fossil (kind e).
  if (records[0]!.kind !== "e")
    throw new PatchError("a stored pack's envelope record is a Fossil patch (kind e)");
  const want = toSha256.slice(0, PACK_KEY_BYTES * 2);
  if (records[0]!.key !== want)
    throw new PatchError(
      `its envelope record makes an envelope whose sha256 starts ${records[0]!.key}, not ${want}`,
    );
  return records;
}

/** A patch made for the new release, by the sha256s of the file it starts from and the file it makes. */
export interface PackPatch {
  fromSha256: string;
  toSha256: string;
  encoding: PatchEncoding;
  data: Uint8Array;
}

interface PackFile {
  path: string;
  sha256: string;
}

/**
 * The pack from the release whose files are `from` to the one whose files are `to` (both sorted by path, as
 * in a manifest): the envelope's patch, then what the board's install (device/mpota/install.py `plan`)
 * cannot copy, in the order it installs: the patch from the file at the same path when `patches` has one,
 * else the whole blob (`readBlob`: the stored zlib stream).
 */
export function makePack(args: {
  from: readonly PackFile[];
  to: readonly PackFile[];
  envelope: { sha256: string; patch: Uint8Array };
  patches: readonly PackPatch[];
  readBlob: (sha256: string) => Uint8Array;
}): Buffer {
  const before = new Map(args.from.map((f) => [f.path, f.sha256]));
  const patches = new Map(args.patches.map((p) => [`${p.fromSha256}-${p.toSha256}`, p]));
  const records: PackRecord[] = [{ kind: "e", sha256: args.envelope.sha256, data: args.envelope.patch }];
  const seen = new Set<string>();
  for (const file of args.to) {
    const old = before.get(file.path);
    const key = file.sha256.slice(0, PACK_KEY_BYTES * 2);
    // Same file, or one already in the pack (a copy at another path, or one whose key another shares:
    // the board downloads that one itself).
    if (old === file.sha256 || seen.has(key)) continue;
    seen.add(key);
    const patch = old === undefined ? undefined : patches.get(`${old}-${file.sha256}`);
    records.push(
      patch
        ? { kind: PATCH_KINDS[patch.encoding], sha256: file.sha256, data: patch.data }
        : { kind: "z", sha256: file.sha256, data: args.readBlob(file.sha256) },
    );
  }
  return encodePack(records);
}

/**
 * A check answer's formats (docs/protocol.md, "Check answers"): "up" (channels/<channel>.up) is what
 * boards read; "pack" (channels/<channel>.pack) is what boards of the first check answers read, written
 * until they have moved on.
 */
export type AnswerFormat = "up" | "pack";
export const ANSWER_FORMATS: readonly AnswerFormat[] = ["up", "pack"];

/**
 * The pointer as a check answer carries it: a signed one as it is, an unsigned one without what a board
 * knows (its project and channel, and `release`: releases/<version>.json). In "up", an unsigned pointer
 * without `expires` is the line "<version> <size>" and the 32 bytes of its sha256. A server makes it once
 * per pointer and passes it to checkAnswer as `head`.
 */
export function answerPointer(pointer: Uint8Array, format: AnswerFormat): Buffer {
  const { signed, signatures } = parsePointerEnvelope(pointer);
  const { sha256, size, version, expires } = signed;
  if (signatures.length > 0) return Buffer.from(pointer);
  if (format === "up" && !expires)
    return Buffer.concat([Buffer.from(`${version} ${size}\n`, "latin1"), Buffer.from(sha256, "hex")]);
  return envelopeBytes({ signed: { sha256, size, version, ...(expires ? { expires } : {}) }, signatures });
}

/**
 * The update pack `pack` from envelope `from` to envelope `to` as an answer of `format` carries it: in
 * "up", with the envelope's patch in copy-hex (kind h) when that is smaller.
 */
export function answerPack(pack: Uint8Array, format: AnswerFormat, from: Uint8Array, to: Uint8Array): Buffer {
  if (format !== "up") return Buffer.from(pack);
  const [envelope, ...files] = decodePack(pack) as [DecodedRecord, ...DecodedRecord[]];
  const delta = encodeCopyHex(from, to);
  if (envelope.kind !== "e" || delta.length >= envelope.data.length) return Buffer.from(pack);
  return encodePack([
    { kind: "h", sha256: envelope.key, data: delta },
    ...files.map((r) => ({ kind: r.kind, sha256: r.key, data: r.data })),
  ]);
}

/**
 * A check answer (docs/protocol.md, "Check answers"; device/mpota/answer.py): the channel pointer
 * (answerPointer), then, when there is one, the envelope the update pack starts from (in "up" the first 8
 * bytes of its sha256, in "pack" their 16 hex digits) and the pack (answerPack). A board on that release
 * then updates with this one request. The pack is left out when it is larger than MAX_ATTACHED_PACK (the
 * board downloads it itself).
 */
export function checkAnswer(
  pointer: Uint8Array,
  format: AnswerFormat,
  attached?: { fromSha256: string; pack: Uint8Array },
  head: Buffer = answerPointer(pointer, format),
): Buffer {
  if (!attached || attached.pack.length > MAX_ATTACHED_PACK) return head;
  const from = attached.fromSha256.slice(0, PACK_NAME_HEX);
  return Buffer.concat([
    head,
    format === "up" ? Buffer.from(from, "hex") : Buffer.from(from, "latin1"),
    attached.pack,
  ]);
}
