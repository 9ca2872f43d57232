/**
 * The "bsdiff-seq" patch encoding: Colin Percival's bsdiff matcher (suffix array, approximate matches),
 * written as one sequential stream a device applies with seek() on the old file and sequential writes
 * (the layout of detools' "sequential" patches). It wins on compiled .mpy files, where an edit shifts
 * offsets and qstr indices all over the file: such bytes differ from the old ones by small amounts, and
 * their differences (mostly zeros) deflate far better than the literal runs a copy/insert delta needs.
 *
 * Stream (inside the zlib container), integers as unsigned LEB128, `seek` zigzag-encoded:
 *   <new size> { <add> <add bytes> <extra> <extra bytes> <seek> }
 * add: the next `add` bytes are the old file's (from the current old position) plus these bytes,
 * mod 256, and the old position moves on by `add`; extra: `extra` literal bytes; seek: the old
 * position moves by this signed amount. Records follow until `new size` bytes are made; the stream
 * then ends.
 */

/** Suffix array of `s` including the empty suffix: prefix doubling with counting sorts, O(n log n). */
export function suffixArray(s: Uint8Array): Int32Array {
  const n = s.length + 1; // suffixes 0..s.length, the last one empty
  let rank = new Int32Array(n);
  for (let i = 0; i < s.length; i++) rank[i] = s[i]! + 1; // the empty suffix keeps rank 0
  const sa = new Int32Array(n);
  let tmp = new Int32Array(n);
  const count = new Int32Array(Math.max(n, 257) + 1);
  // ranks < `classes`; sort by (rank[i], rank[i + k] + 1, or 0 past the end)
  const sortBy = (key: (i: number) => number, from: Int32Array, to: Int32Array, classes: number) => {
    count.fill(0, 0, classes + 1);
    for (let j = 0; j < n; j++) count[key(from[j]!) + 1]!++;
    for (let c = 1; c <= classes; c++) count[c]! += count[c - 1]!;
    for (let j = 0; j < n; j++) to[count[key(from[j]!)]!++] = from[j]!;
  };
  for (let i = 0; i < n; i++) sa[i] = i;
  let classes = 257;
  for (let k = 1; ; k *= 2) {
    const r = rank;
    const second = (i: number) => (i + k < n ? r[i + k]! + 1 : 0);
    sortBy(second, sa, tmp, classes + 1);
    sortBy((i) => r[i]!, tmp, sa, classes);
    const next = tmp;
    next[sa[0]!] = 0;
    for (let j = 1; j < n; j++) {
      const a = sa[j - 1]!;
      const b = sa[j]!;
      next[b] = next[a]! + (r[a] !== r[b] || second(a) !== second(b) ? 1 : 0);
    }
    classes = next[sa[n - 1]!]! + 1;
    tmp = rank;
    rank = next;
    if (classes === n) return sa;
  }
}

function matchLength(old: Uint8Array, from: number, target: Uint8Array, at: number): number {
  let i = 0;
  while (from + i < old.length && at + i < target.length && old[from + i] === target[at + i]) i++;
  return i;
}

/**
 * Compares old[from..] with target[at..] (negative: the old suffix sorts first). Unlike bsdiff's
 * memcmp over the common length, an old suffix that is a prefix of the target sorts first, so the search
 * finds the longest match in repetitive data instead of crawling byte by byte.
 */
function compare(old: Uint8Array, from: number, target: Uint8Array, at: number): number {
  const n = Math.min(old.length - from, target.length - at);
  for (let i = 0; i < n; i++) {
    const d = old[from + i]! - target[at + i]!;
    if (d !== 0) return d;
  }
  return old.length - from < target.length - at ? -1 : 0;
}

/** The longest match of target[at..] in old: [length, position] (binary search in the suffix array). */
function search(sa: Int32Array, old: Uint8Array, target: Uint8Array, at: number): [number, number] {
  let st = 0;
  let en = old.length;
  while (en - st >= 2) {
    const x = st + ((en - st) >> 1);
    if (compare(old, sa[x]!, target, at) < 0) st = x;
    else en = x;
  }
  const a = matchLength(old, sa[st]!, target, at);
  const b = matchLength(old, sa[en]!, target, at);
  return a > b ? [a, sa[st]!] : [b, sa[en]!];
}

class StreamWriter {
  private parts: number[] = [];

  uint(v: number): void {
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
  }

  int(v: number): void {
    this.uint(v < 0 ? -2 * v - 1 : 2 * v);
  }

  byte(b: number): void {
    this.parts.push(b & 0xff);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Encodes `target` against `source` in the bsdiff-seq stream (uncompressed). */
export function encodeBsdiff(source: Uint8Array, target: Uint8Array): Uint8Array {
  const old = source;
  const sa = suffixArray(old);
  const out = new StreamWriter();
  out.uint(target.length);
  let scan = 0;
  let len = 0;
  let pos = 0;
  let lastScan = 0;
  let lastPos = 0;
  let lastOffset = 0;
  while (scan < target.length) {
    let oldScore = 0;
    scan += len;
    let scsc = scan;
    for (; scan < target.length; scan++) {
      [len, pos] = search(sa, old, target, scan);
      for (; scsc < scan + len; scsc++)
        if (scsc + lastOffset < old.length && old[scsc + lastOffset] === target[scsc]) oldScore++;
      if ((len === oldScore && len !== 0) || len > oldScore + 8) break;
      if (scan + lastOffset < old.length && old[scan + lastOffset] === target[scan]) oldScore--;
    }
    if (len === oldScore && scan !== target.length) continue;
    // extend the previous match forwards and this one backwards while they beat literals
    let s = 0;
    let best = 0;
    let lenF = 0;
    for (let i = 0; lastScan + i < scan && lastPos + i < old.length; ) {
      if (old[lastPos + i] === target[lastScan + i]) s++;
      i++;
      if (s * 2 - i > best * 2 - lenF) {
        best = s;
        lenF = i;
      }
    }
    let lenB = 0;
    if (scan < target.length) {
      s = 0;
      best = 0;
      for (let i = 1; scan >= lastScan + i && pos >= i; i++) {
        if (old[pos - i] === target[scan - i]) s++;
        if (s * 2 - i > best * 2 - lenB) {
          best = s;
          lenB = i;
        }
      }
    }
    if (lastScan + lenF > scan - lenB) {
      const overlap = lastScan + lenF - (scan - lenB);
      s = 0;
      best = 0;
      let lenS = 0;
      for (let i = 0; i < overlap; i++) {
        if (target[lastScan + lenF - overlap + i] === old[lastPos + lenF - overlap + i]) s++;
        if (target[scan - lenB + i] === old[pos - lenB + i]) s--;
        if (s > best) {
          best = s;
          lenS = i + 1;
        }
      }
      lenF += lenS - overlap;
      lenB -= lenS;
    }
    out.uint(lenF);
    for (let i = 0; i < lenF; i++) out.byte(target[lastScan + i]! - old[lastPos + i]!);
    const extra = scan - lenB - (lastScan + lenF);
    out.uint(extra);
    for (let i = 0; i < extra; i++) out.byte(target[lastScan + lenF + i]!);
    out.int(pos - lenB - (lastPos + lenF));
    lastScan = scan - lenB;
    lastPos = pos - lenB;
    lastOffset = pos - scan;
  }
  return out.done();
}

/** Applies a bsdiff-seq stream (uncompressed); throws Error naming what is wrong. */
export function applyBsdiff(source: Uint8Array, delta: Uint8Array): Uint8Array {
  let at = 0;
  const uint = (): number => {
    let v = 0;
    for (let shift = 1; ; shift *= 0x80) {
      if (at >= delta.length) throw new Error("the delta ends early");
      const b = delta[at++]!;
      v += (b & 0x7f) * shift;
      if (b < 0x80) return v;
      if (shift > 2 ** 28) throw new Error("a number is too long");
    }
  };
  const size = uint();
  const out = new Uint8Array(size);
  let made = 0;
  let pos = 0;
  const take = (n: number, what: string) => {
    if (made + n > size) throw new Error(`${what} makes the file larger than ${size} bytes`);
    if (at + n > delta.length) throw new Error("the delta ends early");
  };
  while (made < size) {
    const add = uint();
    take(add, "an add");
    if (pos < 0 || pos + add > source.length) throw new Error("an add reads outside the old file");
    for (let i = 0; i < add; i++) out[made + i] = source[pos + i]! + delta[at + i]!;
    made += add;
    pos += add;
    at += add;
    const extra = uint();
    take(extra, "an extra");
    out.set(delta.subarray(at, at + extra), made);
    made += extra;
    at += extra;
    const seek = uint();
    pos += seek % 2 ? -(seek + 1) / 2 : seek / 2;
  }
  if (at !== delta.length) throw new Error("bytes follow the end of the delta");
  return out;
}
