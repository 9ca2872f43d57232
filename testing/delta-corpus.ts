/**
 * A generated, reproducible corpus of releases for patch tests and `mpota bench delta`: valid
 * MicroPython modules (so mpy-cross compiles them) edited the way code changes between releases:
 * insertions, deletions, moved functions, renamed names, tweaked constants, whole rewrites, new files.
 */

export type Rng = () => number;

/** mulberry32: a small seeded generator, so a corpus is the same on every run. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "sensor value pin read write buffer count state level limit interval led relay pump temp humidity " +
  "report topic client config retry delay timeout index offset data frame packet channel window start " +
  "stop reset status error result total average sample rate scale unit name"
).split(" ");

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[Math.floor(rng() * list.length)]!;
}

function ident(rng: Rng): string {
  return `${pick(rng, WORDS)}_${pick(rng, WORDS)}`;
}

/** One statement line of a function body (indented by `pad`). */
function statement(rng: Rng, pad: string): string {
  const a = ident(rng);
  const b = ident(rng);
  switch (Math.floor(rng() * 6)) {
    case 0:
      return `${pad}${a} = ${b} * ${Math.floor(rng() * 1000)} + ${Math.floor(rng() * 50)}`;
    case 1:
      return `${pad}if ${a} > ${Math.floor(rng() * 100)}:\n${pad}    ${b} = ${a} - 1`;
    case 2:
      return `${pad}print("${pick(rng, WORDS)} %d ${pick(rng, WORDS)}" % ${a})`;
    case 3:
      return `${pad}# ${pick(rng, WORDS)} the ${pick(rng, WORDS)} before the ${pick(rng, WORDS)}`;
    case 4:
      return `${pad}${a} = [${b}, ${Math.floor(rng() * 9)}, "${pick(rng, WORDS)}"]`;
    default:
      return `${pad}for ${a} in range(${Math.floor(rng() * 20) + 1}):\n${pad}    ${b} += ${a}`;
  }
}

/** A function: a def line, a docstring, a few statements and a return. */
function func(rng: Rng): string {
  const lines = [`def ${ident(rng)}(${ident(rng)}, ${ident(rng)}=${Math.floor(rng() * 10)}):`];
  lines.push(`    """${pick(rng, WORDS)} the ${pick(rng, WORDS)} of the ${pick(rng, WORDS)}."""`);
  lines.push(`    ${ident(rng)} = 0`);
  const n = 3 + Math.floor(rng() * 8);
  for (let i = 0; i < n; i++) lines.push(statement(rng, "    "));
  lines.push(`    return ${Math.floor(rng() * 100)}`);
  return `${lines.join("\n")}\n`;
}

/** A module of about `functions` functions after a few imports and constants. */
export function pythonModule(rng: Rng, functions: number): string {
  const head = [`import time\nfrom micropython import const\n`];
  for (let i = 0; i < 3; i++) head.push(`${ident(rng).toUpperCase()} = const(${Math.floor(rng() * 5000)})`);
  const body: string[] = [];
  for (let i = 0; i < functions; i++) body.push(func(rng));
  return `${head.join("\n")}\n\n${body.join("\n\n")}`;
}

export type EditKind = "insert" | "delete" | "move" | "rename" | "tweak" | "rewrite";
const EDIT_KINDS: readonly EditKind[] = ["insert", "delete", "move", "rename", "tweak", "rewrite"];

/** The module's functions as separate chunks (split before each top-level def). */
function chunks(source: string): string[] {
  return source.split(/(?=^def )/m);
}

/** Edits a module the way one release changes it; the result is still valid Python. */
export function editModule(rng: Rng, source: string, kind: EditKind): string {
  const parts = chunks(source);
  const at = 1 + Math.floor(rng() * Math.max(1, parts.length - 1));
  switch (kind) {
    case "insert":
      parts.splice(at, 0, `${func(rng)}\n\n`);
      return parts.join("");
    case "delete":
      if (parts.length > 2) parts.splice(at, 1);
      return parts.join("");
    case "move": {
      const [moved] = parts.splice(at, 1);
      parts.splice(1 + Math.floor(rng() * Math.max(1, parts.length - 1)), 0, moved ?? "");
      return parts.join("");
    }
    case "rename": {
      const names = [...source.matchAll(/\b([a-z]+_[a-z]+)\b/g)].map((m) => m[1]!);
      const name = names.length ? pick(rng, names) : "value_value";
      return source.replace(new RegExp(`\\b${name}\\b`, "g"), `${name}_v2`);
    }
    case "tweak": {
      const lines = source.split("\n");
      for (let k = 0; k < 3; k++) {
        const i = Math.floor(rng() * lines.length);
        lines[i] = lines[i]!.replace(/\d+/, String(Math.floor(rng() * 10000)));
      }
      return lines.join("\n");
    }
    case "rewrite":
      return pythonModule(rng, parts.length - 1);
  }
}

export interface GeneratedRelease {
  version: string;
  files: Record<string, Uint8Array>;
}

/**
 * `count` releases of an app of a dozen modules: each release edits one to three modules (mostly small
 * edits, now and then a rewrite) and sometimes adds a module.
 */
export function generatedReleases(seed: number, count: number): GeneratedRelease[] {
  const rng = seededRng(seed);
  const text: Record<string, string> = {};
  for (let i = 0; i < 12; i++) text[`lib/mod${i}.py`] = pythonModule(rng, 4 + Math.floor(rng() * 16));
  text["main.py"] = pythonModule(rng, 6);
  const releases: GeneratedRelease[] = [];
  const snapshot = (n: number) => ({
    version: `1.0.${n}`,
    files: Object.fromEntries(Object.entries(text).map(([p, s]) => [p, new TextEncoder().encode(s)])),
  });
  releases.push(snapshot(0));
  for (let n = 1; n < count; n++) {
    const paths = Object.keys(text);
    const edits = 1 + Math.floor(rng() * 3);
    for (let e = 0; e < edits; e++) {
      const path = pick(rng, paths);
      const kind = rng() < 0.05 ? "rewrite" : pick(rng, EDIT_KINDS.slice(0, 5));
      text[path] = editModule(rng, text[path]!, kind);
    }
    if (rng() < 0.1) text[`lib/extra${n}.py`] = pythonModule(rng, 3);
    releases.push(snapshot(n));
  }
  return releases;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

export function randomData(rng: Rng, size: number): Uint8Array {
  return Uint8Array.from({ length: size }, () => Math.floor(rng() * 256));
}

/** Old/new pairs covering the kinds of change a release makes, and the edges. */
export function editPairs(): [string, Uint8Array, Uint8Array][] {
  const rng = seededRng(7);
  const base = pythonModule(rng, 12);
  const pairs: [string, Uint8Array, Uint8Array][] = EDIT_KINDS.map((kind) => [
    kind,
    utf8(base),
    utf8(editModule(rng, base, kind)),
  ]);
  const bin = randomData(rng, 20_000);
  const flipped = Uint8Array.from(bin);
  for (let i = 0; i < 40; i++) flipped[Math.floor(rng() * flipped.length)]! ^= 0x5a;
  const shifted = new Uint8Array([...bin.subarray(0, 7000), ...randomData(rng, 333), ...bin.subarray(7000)]);
  pairs.push(
    ["empty to text", new Uint8Array(0), utf8(base)],
    ["text to empty", utf8(base), new Uint8Array(0)],
    ["empty to empty", new Uint8Array(0), new Uint8Array(0)],
    ["one byte", utf8("a"), utf8("b")],
    ["binary, bytes flipped", bin, flipped],
    ["binary, bytes inserted", bin, shifted],
    ["unrelated binary", randomData(rng, 3000), randomData(rng, 5000)],
    ["appended", utf8(base), utf8(`${base}\n# one more line\n`)],
    ["repetitive", new Uint8Array(50_000).fill(65), new Uint8Array(60_000).fill(65)],
  );
  return pairs;
}
