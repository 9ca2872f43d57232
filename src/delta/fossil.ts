/**
 * A Fossil delta encoder (format: https://fossil-scm.org/home/doc/trunk/www/delta_format.wiki) with a
 * finer matcher than the stock one. The stock encoder (npm `fossil-delta`) indexes the source only at
 * 16-byte-aligned blocks, so a match must contain a whole aligned block; this one indexes every
 * position of the source by its first 4 bytes, extends each candidate forwards and backwards, and
 * takes the longest. The output is plain Fossil delta, so every applier (the device's patch.py, npm
 * `applyDelta`) reads it.
 */

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";
/** Bytes hashed to find candidate matches. */
const KEY = 4;
/** Candidates examined per target position: bounds the time on repetitive sources. */
const MAX_CHAIN = 64;

/** Grows a byte buffer as the delta is written. */
class DeltaWriter {
  private bytes = new Uint8Array(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  char(c: string): void {
    this.room(1);
    this.bytes[this.length++] = c.charCodeAt(0);
  }

  /** An unsigned integer in Fossil's base-64 digits, most significant first. */
  int(v: number): void {
    let digits = "";
    do {
      digits = DIGITS[v % 64] + digits;
      v = Math.floor(v / 64);
    } while (v > 0);
    for (const d of digits) this.char(d);
  }

  slice(data: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    this.bytes.set(data.subarray(start, end), this.length);
    this.length += end - start;
  }

  done(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Fossil's checksum: the sum of the data read as big-endian 32-bit words (zero-padded), mod 2^32. */
export function fossilChecksum(data: Uint8Array): number {
  let sum = 0;
  const whole = data.length & ~3;
  for (let i = 0; i < whole; i += 4)
    sum = (sum + ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!)) | 0;
  let tail = 0;
  for (let i = whole; i < data.length; i++) tail |= data[i]! << (24 - 8 * (i - whole));
  return (sum + tail) >>> 0;
}

function digitCount(v: number): number {
  let n = 1;
  for (let x = 64; v >= x; x *= 64) n++;
  return n;
}

function keyAt(data: Uint8Array, i: number): number {
  return (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
}

/** Every position of `source` chained by the hash of the 4 bytes starting there (newest first). */
function indexSource(source: Uint8Array): { head: Int32Array; prev: Int32Array; mask: number } {
  let size = 1024;
  while (size < source.length) size *= 2;
  const head = new Int32Array(size).fill(-1);
  const prev = new Int32Array(Math.max(0, source.length - KEY + 1));
  const mask = size - 1;
  for (let i = 0; i + KEY <= source.length; i++) {
    const h = Math.imul(keyAt(source, i), 0x9e3779b1) >>> 0;
    const slot = h & mask;
    prev[i] = head[slot]!;
    head[slot] = i;
  }
  return { head, prev, mask };
}

export interface EncodeOptions {
  /** Shortest copy worth a command; shorter runs stay literal (they deflate well anyway). */
  minMatch?: number;
}

/**
 * Encodes `target` as a Fossil delta against `source`. Greedy: at each position the longest match
 * (forward plus backward into the pending literal run) of at least `minMatch` bytes becomes a copy.
 */
export function encodeFossil(
  source: Uint8Array,
  target: Uint8Array,
  options: EncodeOptions = {},
): Uint8Array {
  const minMatch = Math.max(KEY, options.minMatch ?? 8);
  const out = new DeltaWriter();
  out.int(target.length);
  out.char("\n");
  const { head, prev, mask } = indexSource(source);
  let base = 0; // start of the literal run not written yet
  let expected = 0; // where the last copy ended in the source: a match there costs no new offset digits
  let i = 0;
  while (i + KEY <= target.length) {
    let bestCnt = 0;
    let bestOfs = 0;
    let bestBack = 0;
    const h = Math.imul(keyAt(target, i), 0x9e3779b1) >>> 0;
    let chain = MAX_CHAIN;
    for (let p = head[h & mask]!; p >= 0 && chain-- > 0; p = prev[p]!) {
      let fwd = 0;
      while (p + fwd < source.length && i + fwd < target.length && source[p + fwd] === target[i + fwd]) fwd++;
      if (fwd < KEY) continue; // a hash collision
      let back = 0;
      while (back < i - base && back < p && source[p - back - 1] === target[i - back - 1]) back++;
      const cnt = fwd + back;
      if (cnt > bestCnt || (cnt === bestCnt && p - back === expected)) {
        bestCnt = cnt;
        bestOfs = p - back;
        bestBack = back;
      }
    }
    const cost = digitCount(bestCnt) + digitCount(bestOfs) + 2;
    if (bestCnt < minMatch || bestCnt <= cost) {
      i++;
      continue;
    }
    const start = i - bestBack;
    if (start > base) {
      out.int(start - base);
      out.char(":");
      out.slice(target, base, start);
    }
    out.int(bestCnt);
    out.char("@");
    out.int(bestOfs);
    out.char(",");
    expected = bestOfs + bestCnt;
    i = start + bestCnt;
    base = i;
  }
  if (base < target.length) {
    out.int(target.length - base);
    out.char(":");
    out.slice(target, base, target.length);
  }
  out.int(fossilChecksum(target));
  out.char(";");
  return out.done();
}
