/**
 * `mpota bench delta`: what delta patches save, on two corpora of releases:
 * - history: every commit of this repository that touched device/, each taken as a release of that
 *   folder (read from git when the benchmark runs, so it grows with the project);
 * - generated: a reproducible series of releases of a generated app (testing/delta-corpus.ts).
 * Each release is measured as .py and compiled to .mpy (main.py stays source, as `mpota release --mpy`
 * does). Per release: the zlib bytes of the whole release, of the files that changed, and the bytes a
 * board running the previous release downloads (per changed file the smaller of its patch and its zlib
 * blob; envelope and HTTP overhead not counted), and their ratio (target: median <= 5 % for .py,
 * <= 35 % for .mpy). patchHeapBytes: heap the device allocates applying the largest patches with
 * device/mpota/patch.py, the 8 largest of each encoding (gc.mem_alloc deltas on the virtual device, with the 4 KB install buffer made
 * and the modules imported beforehand, as in an install; target < 8 KB).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createDelta } from "fossil-delta";
import { makePatch, PATCH_ENCODINGS, type Patch } from "../src/delta/index.ts";
import { compileTree } from "../src/mpy/index.ts";
import { compressBlob } from "../src/store/index.ts";
import { runDeviceScript } from "../testing/board.ts";
import { generatedReleases } from "../testing/delta-corpus.ts";
import type { Benchmark } from "./index.ts";

type Tree = Record<string, Uint8Array>;
interface Release {
  corpus: "history" | "generated";
  name: string;
  files: Tree;
}

interface Figures {
  files: number;
  changedFiles: number;
  patchedFiles: number;
  wholeZlibBytes: number;
  changedZlibBytes: number;
  downloadedBytes: number;
  /** The same with Fossil deltas only (no bsdiff-seq), and with the stock npm fossil-delta encoder only. */
  downloadedBytesFossilOnly: number;
  downloadedBytesStockEncoder: number;
  ratio: number | null;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, maxBuffer: 1 << 28 });

/** Every commit that touched device/, oldest first, as the tree of device/ at that commit. */
function historyReleases(): Release[] {
  let commits: string[];
  try {
    commits = git("log", "--format=%H", "--reverse", "--", "device").toString().split("\n").filter(Boolean);
  } catch {
    return []; // not a git checkout (an installed package): the generated corpus still runs
  }
  const blobs = new Map<string, Uint8Array>();
  return commits.map((commit) => {
    const files: Tree = {};
    for (const line of git("ls-tree", "-r", commit, "--", "device/").toString().split("\n").filter(Boolean)) {
      const [meta, path] = line.split("\t") as [string, string];
      const sha = meta.split(" ")[2]!;
      if (!blobs.has(sha)) blobs.set(sha, new Uint8Array(git("cat-file", "blob", sha)));
      files[path.slice("device/".length)] = blobs.get(sha)!;
    }
    return { corpus: "history", name: commit.slice(0, 10), files };
  });
}

const key = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/** Memoised zlib sizes and patches: the same file pairs recur across a corpus. */
function costs() {
  const zlib = new Map<string, number>();
  const patches = new Map<string, Patch>();
  const stock = new Map<string, number>();
  const fossil = new Map<string, number>();
  return {
    fossil(from: Uint8Array, to: Uint8Array): number {
      const k = `${key(from)}-${key(to)}`;
      if (!fossil.has(k)) fossil.set(k, makePatch(from, to, { encodings: ["fossil"] }).bytes.length);
      return fossil.get(k)!;
    },
    stock(from: Uint8Array, to: Uint8Array): number {
      const k = `${key(from)}-${key(to)}`;
      if (!stock.has(k)) stock.set(k, compressBlob(createDelta(from, to)).length);
      return stock.get(k)!;
    },
    zlib(data: Uint8Array): number {
      const k = key(data);
      if (!zlib.has(k)) zlib.set(k, compressBlob(data).length);
      return zlib.get(k)!;
    },
    patch(from: Uint8Array, to: Uint8Array): Patch {
      const k = `${key(from)}-${key(to)}`;
      if (!patches.has(k)) patches.set(k, makePatch(from, to));
      return patches.get(k)!;
    },
  };
}

type Used = (from: Uint8Array, to: Uint8Array, patch: Patch) => void;

function measure(prev: Tree, next: Tree, cost: ReturnType<typeof costs>, used: Used): Figures {
  const f: Figures = {
    files: 0,
    changedFiles: 0,
    patchedFiles: 0,
    wholeZlibBytes: 0,
    changedZlibBytes: 0,
    downloadedBytes: 0,
    downloadedBytesFossilOnly: 0,
    downloadedBytesStockEncoder: 0,
    ratio: null,
  };
  for (const [path, data] of Object.entries(next)) {
    const z = cost.zlib(data);
    f.files++;
    f.wholeZlibBytes += z;
    const old = prev[path];
    if (old && same(old, data)) continue; // the board copies it from the running slot
    f.changedFiles++;
    f.changedZlibBytes += z;
    const patch = old ? cost.patch(old, data) : undefined;
    if (old && patch && patch.bytes.length < z) {
      f.patchedFiles++;
      f.downloadedBytes += patch.bytes.length;
      f.downloadedBytesFossilOnly += Math.min(z, cost.fossil(old, data));
      f.downloadedBytesStockEncoder += Math.min(z, cost.stock(old, data));
      used(old, data, patch);
    } else {
      f.downloadedBytes += z;
      f.downloadedBytesFossilOnly += z;
      f.downloadedBytesStockEncoder += z;
    }
  }
  f.ratio = f.changedZlibBytes
    ? Math.round((f.downloadedBytes / f.changedZlibBytes) * 10_000) / 10_000
    : null;
  return f;
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Heap allocated by patch.py for each case, on one virtual device. */
async function deviceHeap(
  cases: { from: Uint8Array; to: Uint8Array; patch: Patch }[],
): Promise<{ imports: number; heap: number[] }> {
  const files: Tree = {};
  const jobs = cases.map((c, i) => {
    files[`p${i}.old`] = c.from;
    files[`p${i}.fz`] = c.patch.bytes;
    return [`p${i}`, c.to.length, key(c.to), c.patch.encoding];
  });
  const script = `
import gc, json
before = gc.mem_alloc()
from mpota import patch
import binascii, deflate, hashlib  # the install imports these anyway: part of the client's baseline
heap = [gc.mem_alloc() - before]
buf = memoryview(bytearray(4096))
for stem, size, digest, encoding in ${JSON.stringify(jobs)}:
    before = gc.mem_alloc()
    patch.apply(stem + ".old", stem + ".fz", stem + ".new", size, digest, buf, encoding)
    heap.append(gc.mem_alloc() - before)
print(json.dumps(heap))
`;
  const [imports, ...heap] = (await runDeviceScript(script, files)).value as number[];
  return { imports: imports!, heap };
}

const run: Benchmark = async ({ progress }) => {
  const started = Date.now();
  progress("reading device/ history from git");
  const corpora: Release[][] = [
    historyReleases(),
    generatedReleases(1, 40).map((r) => ({ corpus: "generated" as const, name: r.version, files: r.files })),
  ];
  const cost = costs();
  const mpyCache = new Map<string, Tree>();
  const asMpy = async (release: Release): Promise<Tree> => {
    const k = `${release.corpus}/${release.name}`;
    if (!mpyCache.has(k)) mpyCache.set(k, await compileTree(release.files));
    return mpyCache.get(k)!;
  };
  const rows: { corpus: string; release: string; py: Figures; mpy: Figures }[] = [];
  const encoders: Record<string, number> = {};
  const patched: { from: Uint8Array; to: Uint8Array; patch: Patch }[] = [];
  const used: Used = (from, to, patch) => {
    encoders[patch.encoder] = (encoders[patch.encoder] ?? 0) + 1;
    patched.push({ from, to, patch });
  };
  for (const releases of corpora) {
    for (let i = 1; i < releases.length; i++) {
      const prev = releases[i - 1]!;
      const next = releases[i]!;
      progress(`${next.corpus} ${next.name} (${i}/${releases.length - 1})`);
      const py = measure(prev.files, next.files, cost, used);
      const mpy = measure(await asMpy(prev), await asMpy(next), cost, used);
      rows.push({ corpus: next.corpus, release: next.name, py, mpy });
    }
  }
  progress("applying the largest patches on the virtual device");
  patched.sort((a, b) => b.to.length - a.to.length || b.patch.bytes.length - a.patch.bytes.length);
  const largest = PATCH_ENCODINGS.flatMap((e) => patched.filter((p) => p.patch.encoding === e).slice(0, 8));
  const { imports, heap } = await deviceHeap(largest);
  const heapOf = (e: string) => Math.max(0, ...heap.filter((_, i) => largest[i]!.patch.encoding === e));
  const summary = (corpus: string | null) => {
    const mine = rows.filter((r) => corpus === null || r.corpus === corpus);
    const ratios = (kind: "py" | "mpy") =>
      mine.map((r) => r[kind].ratio).filter((x): x is number => x !== null);
    const total = (kind: "py" | "mpy", field: keyof Figures) =>
      mine.reduce((n, r) => n + Number(r[kind][field]), 0);
    return {
      releaseCount: mine.length,
      medianRatioPy: median(ratios("py")),
      medianRatioMpy: median(ratios("mpy")),
      downloadedBytesPy: total("py", "downloadedBytes"),
      downloadedBytesPyFossilOnly: total("py", "downloadedBytesFossilOnly"),
      downloadedBytesPyStockEncoder: total("py", "downloadedBytesStockEncoder"),
      downloadedBytesMpy: total("mpy", "downloadedBytes"),
      downloadedBytesMpyFossilOnly: total("mpy", "downloadedBytesFossilOnly"),
      downloadedBytesMpyStockEncoder: total("mpy", "downloadedBytesStockEncoder"),
    };
  };
  return {
    ...summary(null),
    patchHeapBytes: Math.max(0, ...heap),
    targets: { medianRatioPy: 0.05, medianRatioMpy: 0.35, patchHeapBytes: 8192 },
    history: summary("history"),
    generated: summary("generated"),
    encoders,
    patchHeapBytesByEncoding: Object.fromEntries(PATCH_ENCODINGS.map((e) => [e, heapOf(e)])),
    patchModuleImportHeapBytes: imports,
    releases: rows,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
};

export default run;
