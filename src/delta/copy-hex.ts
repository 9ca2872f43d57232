/**
 * The "copy-hex" delta: how a check answer carries the envelope's patch (docs/protocol.md, "Check
 * answers"). From one release to the next an envelope changes in a few fields of a few lines (the
 * signature, the changed files' sha256 and sizes, the time and version), and most of what changes is
 * hex: a Fossil delta spends a character on each hex digit and an ASCII command on each change, and the
 * zlib around it a Huffman table. Here the commands are binary, hex travels as bytes, and nothing
 * deflates what is left (it would not shrink).
 *
 * Stream: LEB128 <size of the result>, then commands until that many bytes are made, each a LEB128
 * v = n * 4 + op: op 0 copies n bytes of the old file from its cursor; 1 writes the n bytes that follow;
 * 2 writes the n bytes that follow as 2n lowercase hex digits; 3 moves the cursor by n zigzag-decoded
 * (0, -1, 1, -2, …). Ops 0 to 2 move the cursor on by what they write, so a field replaced by one of the
 * same length (a sha256, a size) needs no move. Nothing may follow the last command.
 *
 * The encoder pairs the lines of the two envelopes (a file's line by its path, any other by its text
 * without digits and hex; a new line with the nearest old one), and writes each line as copies of the
 * tokens it shares with its old line and the rest. It suits any two texts; it is small on envelopes.
 */
import { PatchError } from "./errors.ts";

const COPY = 0;
const WRITE = 1;
const HEX = 2;
const SEEK = 3;
/** Hex digits are sent as bytes from this run length on (shorter runs cost more in commands than they save). */
const MIN_HEX_RUN = 8;
/** Token pairs of two lines beyond which they are not compared (the new line is written whole). */
const MAX_PAIR_CELLS = 1 << 22;

function varint(out: number[], n: number): void {
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    out.push(n ? byte | 128 : byte);
  } while (n);
}

class Commands {
  readonly out: number[] = [];
  /** Where the applier's cursor in the old file is once the commands so far have run. */
  private cursor = 0;
  /** A copy or a move not written yet: the next one of the same kind adds to it. */
  private pending: { op: typeof COPY | typeof SEEK; n: number } | undefined;

  private flush(): void {
    const p = this.pending;
    if (p) varint(this.out, (p.op === SEEK ? (p.n < 0 ? -2 * p.n - 1 : 2 * p.n) : p.n) * 4 + p.op);
    this.pending = undefined;
  }

  private add(op: typeof COPY | typeof SEEK, n: number): void {
    if (this.pending?.op === op) this.pending.n += n;
    else {
      this.flush();
      this.pending = { op, n };
    }
    if (this.pending.n === 0) this.pending = undefined; // moves that cancel out
  }

  seek(pos: number): void {
    if (pos !== this.cursor) this.add(SEEK, pos - this.cursor);
    this.cursor = pos;
  }

  copy(pos: number, n: number): void {
    this.seek(pos);
    this.add(COPY, n);
    this.cursor += n;
  }

  /** Writes `text`, its runs of hex digits as bytes. */
  write(text: string): void {
    this.flush();
    let last = 0;
    for (const m of text.matchAll(new RegExp(`[0-9a-f]{${MIN_HEX_RUN},}`, "g"))) {
      const run = m[0].length % 2 ? m[0].slice(0, -1) : m[0];
      this.literal(text.slice(last, m.index));
      varint(this.out, (run.length / 2) * 4 + HEX);
      this.out.push(...Buffer.from(run, "hex"));
      last = m.index + run.length;
    }
    this.literal(text.slice(last));
    this.cursor += text.length;
  }

  private literal(text: string): void {
    if (!text) return;
    varint(this.out, text.length * 4 + WRITE);
    for (let i = 0; i < text.length; i++) this.out.push(text.charCodeAt(i));
  }

  done(size: number): Uint8Array {
    if (this.pending?.op === SEEK) this.pending = undefined; // a last move leads nowhere
    this.flush();
    const head: number[] = [];
    varint(head, size);
    return Uint8Array.from([...head, ...this.out]);
  }
}

interface Line {
  text: string;
  /** Where it starts in its file. */
  at: number;
}

function lines(data: Uint8Array): Line[] {
  const out: Line[] = [];
  let at = 0;
  for (const text of Buffer.from(data)
    .toString("latin1")
    .match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    out.push({ text, at });
    at += text.length;
  }
  return out;
}

/** What pairs a line with its old self: a file's path, else the line without its digits and hex. */
function lineKey(line: string): string {
  const path = line.match(/"path":"((?:[^"\\]|\\.)*)"/);
  return path ? `path ${path[1]}` : `text ${line.replace(/[0-9a-f]+/g, "")}`;
}

/** Long hex runs, digit runs, then single characters: what changes in an envelope's line is whole tokens. */
function tokens(line: string): string[] {
  return line.match(/[0-9a-f]{16,}|[0-9]+|[\s\S]/g) ?? [];
}

/**
 * How `to` is made from the old line `from`: for each token of `to`, the offset in `from` of the same
 * token when it is copied, else -1; and the bytes copied. Longest common subsequence of the tokens,
 * weighted by their length.
 */
function alignLine(from: string, to: string): { copied: number; steps: { token: string; at: number }[] } {
  const a = tokens(from);
  const b = tokens(to);
  if ((a.length + 1) * (b.length + 1) > MAX_PAIR_CELLS)
    return { copied: 0, steps: b.map((token) => ({ token, at: -1 })) };
  const w = b.length + 1;
  const best = new Float64Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      best[i * w + j] =
        a[i] === b[j]
          ? a[i]!.length + best[(i + 1) * w + j + 1]!
          : Math.max(best[(i + 1) * w + j]!, best[i * w + j + 1]!);
  const steps: { token: string; at: number }[] = [];
  let i = 0;
  let j = 0;
  let offset = 0;
  while (j < b.length) {
    if (i < a.length && a[i] === b[j]) {
      steps.push({ token: b[j++]!, at: offset });
      offset += a[i++]!.length;
    } else if (i < a.length && best[(i + 1) * w + j]! >= best[i * w + j + 1]!) offset += a[i++]!.length;
    else steps.push({ token: b[j++]!, at: -1 });
  }
  return { copied: best[0]!, steps };
}

/** Writes line `to` as copies from the old line `from` (at `base` in the old file) and the rest. */
function writeLine(out: Commands, base: number, steps: { token: string; at: number }[]): void {
  let text = "";
  let copyAt = -1;
  let copyLength = 0;
  const flushCopy = () => {
    if (copyLength) out.copy(base + copyAt, copyLength);
    copyLength = 0;
  };
  for (const { token, at } of steps) {
    if (at < 0) {
      flushCopy();
      text += token;
      continue;
    }
    if (text) {
      // Written over what the old line has there when it is as long, so that no move is needed.
      out.write(text);
      text = "";
    }
    if (copyLength && copyAt + copyLength === at) copyLength += token.length;
    else {
      flushCopy();
      copyAt = at;
      copyLength = token.length;
    }
  }
  flushCopy();
  if (text) out.write(text);
}

/** The copy-hex delta that makes `target` from `source`, checked by applying it. */
export function encodeCopyHex(source: Uint8Array, target: Uint8Array): Uint8Array {
  const old = lines(source);
  const where = new Map<string, number[]>(); // key -> indexes of the old lines with it, in order
  old.forEach((line, i) => {
    const key = lineKey(line.text);
    const list = where.get(key);
    if (list) list.push(i);
    else where.set(key, [i]);
  });
  const out = new Commands();
  let next = 0; // the first old line not paired yet
  for (const { text } of lines(target)) {
    const candidates = where.get(lineKey(text)) ?? [];
    while (candidates.length && candidates[0]! < next) candidates.shift();
    const match = candidates.shift();
    if (match !== undefined) {
      next = match + 1;
      const line = old[match]!;
      if (line.text === text) out.copy(line.at, text.length);
      else writeLine(out, line.at, alignLine(line.text, text).steps);
      continue;
    }
    // A new line: made from the old line nearest to where it goes, when they share enough.
    const near = [old[next - 1], old[next]]
      .filter((l): l is Line => l !== undefined)
      .map((line) => ({ line, ...alignLine(line.text, text) }))
      .sort((x, y) => y.copied - x.copied)[0];
    if (near && near.copied >= 16) writeLine(out, near.line.at, near.steps);
    else out.write(text);
  }
  const delta = out.done(target.length);
  const made = applyCopyHex(source, delta, target.length);
  if (Buffer.compare(Buffer.from(made), Buffer.from(target)) !== 0)
    throw new PatchError("the copy-hex encoder made a delta that does not reproduce its target");
  return delta;
}

/**
 * Applies a copy-hex delta to `source`; the result must have `size` bytes (its sha256 is the caller's to
 * check). PatchError naming what is wrong with a damaged delta, in the words of the board's applier
 * (src/delta/copy-hex-cases.ts).
 */
export function applyCopyHex(source: Uint8Array, delta: Uint8Array, size: number): Uint8Array {
  const bad = (why: string) => new PatchError(`the patch does not apply: ${why}`);
  let at = 0;
  const varint = (): number => {
    let n = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (at >= delta.length) throw bad("the delta ends early");
      const byte = delta[at++]!;
      n += (byte & 127) * 2 ** shift;
      if (byte < 128) return n;
    }
    throw bad("a number is too long");
  };
  if (varint() !== size) throw bad("it makes a file of another size");
  const out = new Uint8Array(size);
  let made = 0;
  let cursor = 0;
  while (made < size) {
    const v = varint();
    const n = Math.floor(v / 4);
    const op = v % 4;
    if (op === SEEK) {
      cursor += n % 2 ? -(n + 1) / 2 : n / 2;
      if (cursor < 0) throw bad("it seeks before the start of the old file");
      continue;
    }
    const bytes = op === HEX ? 2 * n : n;
    if (made + bytes > size) throw bad(`it makes a file larger than ${size} bytes`);
    if (op === COPY) {
      if (cursor + n > source.length) throw bad("it copies past the end of the old file");
      out.set(source.subarray(cursor, cursor + n), made);
    } else {
      if (at + n > delta.length) throw bad("the delta ends inside an insert");
      const data = delta.subarray(at, at + n);
      out.set(op === HEX ? Buffer.from(Buffer.from(data).toString("hex"), "latin1") : data, made);
      at += n;
    }
    cursor += bytes;
    made += bytes;
  }
  if (at !== delta.length) throw bad("bytes follow the end of the delta");
  return out;
}
