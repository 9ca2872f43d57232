/**
 * `mpota bench wire`: every byte a board moves to update, against what the simple updaters it replaces
 * would move. A board on the virtual device follows a series of releases built the way `mpota release`
 * builds them (patches, envelope patches and update packs from the last 3 releases, no signed patch lists,
 * the mpota package in lib/mpota/, `.py` and `--mpy`):
 * the generated corpus of src/delta/corpus.ts and 10 commits of this repository's device/
 * folder (as an app's files, under app/). It updates one release at a time from a static site served by
 * `mpota`'s own static server and from `mpota serve`; per update the socket bytes both ways (pointer,
 * envelope, update pack, patches/blobs, events, every HTTP header) and the requests are counted, and compared with
 * - gzip -9 of the changed files (each file apart, as a plain updater fetches them);
 * - `zstd --ultra -22 --patch-from=OLD` of each modified file (Debian's zstd; left out when missing).
 * Keys (targets in `targets`): wireMedianRatio (wire bytes ÷ gzip -9 of the changed files, median over
 * updates), wireWorstOverGzipBytes (the most an update moved beyond gzip -9 of its changed files),
 * requestsMax (most requests of an update), checkBytes (a no-update check, both ways, most of the two
 * sources), payloadVsZstd (what the board downloads for modified files ÷ zstd's patches of them: the
 * pack's record for each, else its signed patch, else its blob), medianAnswerBytes / medianPackBytes
 * (the check answer's bodies, with the pack they bring, and the packs asked for on their own, per
 * update, median).
 * `--scenario generated-py,history-mpy,…` runs only those series.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { shippedMpotaPackage } from "../src/client/bundle.ts";
import {
  decodePack,
  makeEnvelopePatch,
  makeReleasePack,
  makeReleasePatches,
  PACK_KEY_BYTES,
} from "../src/delta/index.ts";
import { sha256Hex } from "../src/manifest/index.ts";
import { mpySources } from "../src/mpy/index.ts";
import { buildRelease } from "../src/release/index.ts";
import { AdminClient, publishRelease, releaseFromStore } from "../src/server/admin-client.ts";
import { VirtualDevice } from "../src/sim/index.ts";
import { publishStatic, serveStatic } from "../src/static/index.ts";
import { openStore, type ReleaseStore, type StoredRelease } from "../src/store/index.ts";
import { bundledBoard, makeSigningKey, type SigningKey } from "../testing/board.ts";
import { generatedReleases } from "../testing/delta-corpus.ts";
import { startTestServer } from "../testing/server.ts";
import type { Benchmark } from "./index.ts";

type Tree = Record<string, Uint8Array>;
const PROJECT = "wire";
/** Releases per series: enough for a median, few enough for a busy 2-core machine. */
const RELEASES = 10;
const SCENARIOS = ["generated-py", "generated-mpy", "history-py", "history-mpy"] as const;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

const UPDATE = `import mpota, json
print("update", json.dumps(mpota.update()))
`;
const CONFIRM = `import mpota, json
print("confirm", json.dumps(mpota.confirm()))
`;
const CHECK = `import mpota, json
print("check", json.dumps(mpota.check()))
`;

/**
 * The history series: the RELEASES commits that touched device/ up to HISTORY_ANCHOR (this repository
 * on 2026-12-06, before update packs), oldest first, each as the tree of device/ under app/. Pinned, so
 * that every run compares the same updates (the last commits would change with each commit); HEAD's
 * when the anchor is not in the checkout (a shallow clone).
 */
const HISTORY_ANCHOR = "a70706a4aff8825d1afa46073377450b87c92eaa";

function historyTrees(): { anchor: string; trees: Tree[] } {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, maxBuffer: 1 << 28 });
  let anchor = HISTORY_ANCHOR;
  let commits: string[];
  try {
    try {
      git("cat-file", "-e", `${anchor}^{commit}`);
    } catch {
      anchor = git("rev-parse", "HEAD").toString().trim();
    }
    commits = git("log", "--format=%H", `-${RELEASES}`, anchor, "--", "device")
      .toString()
      .split("\n")
      .filter(Boolean);
  } catch {
    return { anchor: "none", trees: [] }; // not a git checkout: the generated series still runs
  }
  const trees = commits.reverse().map((commit) => {
    const files: Tree = { "main.py": new TextEncoder().encode("print('app')\n") };
    for (const line of git("ls-tree", "-r", commit, "--", "device/").toString().split("\n").filter(Boolean)) {
      const [meta, path] = line.split("\t") as [string, string];
      files[`app/${path.slice("device/".length)}`] = new Uint8Array(
        git("cat-file", "blob", meta.split(" ")[2]!),
      );
    }
    return files;
  });
  return { anchor, trees };
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return Math.round((s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2) * 1000) / 1000;
}

const hasZstd = () => spawnSync("zstd", ["--version"]).status === 0;

/** Bytes of `zstd --ultra -22 --patch-from=old new`. */
function zstdPatch(dir: string, old: Uint8Array, data: Uint8Array): number {
  writeFileSync(join(dir, "old"), old);
  writeFileSync(join(dir, "new"), data);
  const out = execFileSync(
    "zstd",
    ["-q", "--ultra", "-22", `--patch-from=${join(dir, "old")}`, "-c", join(dir, "new")],
    {
      maxBuffer: 1 << 28,
      stdio: ["ignore", "pipe", "ignore"], // its advice on slower settings
    },
  );
  return out.length;
}

/**
 * What changed from `prev` to `next`, and what simple updaters and zstd would move for it; what the board
 * downloads for a modified file: its record in the update pack from `prev`, else its signed patch from
 * the file it replaces, else its blob.
 */
function compare(store: ReleaseStore, from: StoredRelease, to: StoredRelease, zstdDir: string | undefined) {
  const [prev, next] = [from.envelope.signed, to.envelope.signed];
  const [fromSha, toSha] = [sha256Hex(from.bytes), sha256Hex(to.bytes)];
  const packed = new Map(
    store.hasPack(fromSha, toSha)
      ? decodePack(store.readPack(fromSha, toSha)).map((r) => [r.key, r.data.length])
      : [],
  );
  const before = new Map(prev.files.map((f) => [f.path, f]));
  let changedFiles = 0;
  let gzipBytes = 0;
  let modifiedPayload = 0;
  let modifiedZstd = 0;
  for (const file of next.files) {
    const old = before.get(file.path);
    if (old?.sha256 === file.sha256) continue;
    const data = store.readFile(file.sha256, file.size);
    changedFiles++;
    gzipBytes += gzipSync(data, { level: 9 }).length;
    if (!old || !zstdDir) continue;
    const patch = file.blobs.patches?.find((p) => p.from_sha256 === old.sha256);
    modifiedPayload += packed.get(file.sha256.slice(0, PACK_KEY_BYTES * 2)) ?? patch?.size ?? file.blobs.zlib;
    modifiedZstd += zstdPatch(zstdDir, store.readFile(old.sha256, old.size), data);
  }
  return { files: next.files.length, changedFiles, gzipBytes, modifiedPayload, modifiedZstd };
}

/** What each request fetched, by the kind of path. */
function kindOf(path: string): string {
  if (path.includes("/packs/")) return "pack";
  if (/\/channels\/[^/?]+\.(up|pack)(\?|$)/.test(path)) return "answer";
  if (path.includes("/channels/") || path.includes("/checkin")) return "pointer";
  if (path.includes("/releases/")) return "envelope";
  if (path.includes("/patches/")) return "patch";
  if (path.includes("/blobs/")) return "blob";
  return "other";
}

interface Source {
  name: "static" | "server";
  config: Record<string, unknown>;
  publish: (version: string) => Promise<void>;
  /** Requests seen since the last call: their kinds and response body bytes. */
  take: () => { requests: number; bodyBytes: Record<string, number> };
  close: () => Promise<void>;
}

function counter() {
  let seen: { kind: string; bytes: number }[] = [];
  return {
    add: (path: string, bytes: number) => seen.push({ kind: kindOf(path), bytes }),
    take: () => {
      const bodyBytes: Record<string, number> = {};
      for (const s of seen) bodyBytes[s.kind] = (bodyBytes[s.kind] ?? 0) + s.bytes;
      const out = { requests: seen.length, bodyBytes };
      seen = [];
      return out;
    },
  };
}

async function staticSource(store: ReleaseStore, site: string): Promise<Source> {
  const count = counter();
  const server = await serveStatic(site, { onServe: (r) => count.add(r.path, r.bytes) });
  return {
    name: "static",
    config: { source: { type: "static", url: server.url, channel: "stable" } },
    publish: async (version) => {
      publishStatic({ site, store, project: PROJECT, version, channel: "stable" });
    },
    take: count.take,
    close: server.close,
  };
}

async function serverSource(store: ReleaseStore, key: SigningKey): Promise<Source> {
  const count = counter();
  // A board checks in once per update here, faster than a fleet would: no check-in interval.
  const s = await startTestServer("sqlite", { limits: { checkinIntervalMs: 0 } });
  s.app.addHook("onResponse", async (request, reply) => {
    if (request.url.startsWith("/d/")) count.add(request.url, Number(reply.getHeader("content-length") ?? 0));
  });
  await s.app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
  const admin = new AdminClient(url, s.adminToken);
  await admin.request("POST", "/projects", { name: PROJECT });
  await admin.request("POST", `/projects/${PROJECT}/keys`, { publicKey: key.publicHex });
  const { token } = await admin.request<{ token: string }>("POST", `/projects/${PROJECT}/devices`, {
    id: "b1",
  });
  return {
    name: "server",
    config: { source: { type: "server", url, device_id: "b1", token } },
    publish: async (version) => {
      await publishRelease(admin, releaseFromStore(store, PROJECT, version), { project: PROJECT });
      await admin.request("PUT", `/projects/${PROJECT}/channels/stable`, { version });
      count.take(); // the admin requests are not the board's
    },
    take: count.take,
    close: s.close,
  };
}

interface Step {
  version: string;
  wireBytes: number;
  wireBytesIn: number;
  wireBytesOut: number;
  requests: number;
  bodyBytes: Record<string, number>;
  files: number;
  changedFiles: number;
  gzipBytes: number;
  /** null when no file changed (nothing for gzip to send). */
  ratio: number | null;
}

const run: Benchmark = async ({ progress, scenarios }) => {
  const started = Date.now();
  const chosen = SCENARIOS.filter((s) => !scenarios || scenarios.includes(s));
  const shipped = await shippedMpotaPackage();
  const key = makeSigningKey();
  const zstd = hasZstd();
  const work = mkdtempSync(join(tmpdir(), "mpota-bench-wire-"));
  const zstdDir = zstd ? join(work, "zstd") : undefined;
  if (zstdDir) mkdirSync(zstdDir);
  const series: Record<string, { static: Step[]; server: Step[]; checkBytes: Record<string, number> }> = {};
  let modifiedPayload = 0;
  let modifiedZstd = 0;
  let historyAnchor: string | undefined;
  try {
    for (const scenario of chosen) {
      const [corpus, encoding] = scenario.split("-") as ["generated" | "history", "py" | "mpy"];
      let trees: Tree[];
      if (corpus === "generated") trees = generatedReleases(7, RELEASES).map((r) => r.files as Tree);
      else {
        const history = historyTrees();
        historyAnchor = history.anchor;
        trees = history.trees;
      }
      if (trees.length < 2) continue;
      const dir = join(work, scenario);
      const store = openStore(join(dir, "store"));
      const site = join(dir, "site");
      const versions: string[] = [];
      for (const [i, tree] of trees.entries()) {
        progress(`${scenario}: release ${i + 1}/${trees.length}`);
        const src = join(dir, "src", String(i));
        for (const [path, data] of Object.entries(tree)) {
          mkdirSync(dirname(join(src, path)), { recursive: true });
          writeFileSync(join(src, path), data);
        }
        const version = `1.0.${i}`;
        await buildRelease({
          dir: src,
          project: PROJECT,
          version,
          key,
          store,
          created: new Date(Date.UTC(2026, 11, 1, 0, i)),
          makePatches: makeReleasePatches,
          makeEnvelopePatch,
          makePack: makeReleasePack,
          patchBases: 3,
          mpotaPackage: shipped,
          transform: encoding === "mpy" ? mpySources() : undefined,
        });
        versions.push(version);
      }
      const releases = versions.map((v) => store.readRelease(PROJECT, v));
      const compared = releases.slice(1).map((r, i) => compare(store, releases[i]!, r, zstdDir));
      for (const c of compared) {
        modifiedPayload += c.modifiedPayload;
        modifiedZstd += c.modifiedZstd;
      }
      const statics = await staticSource(store, site);
      await statics.publish(versions[0]!);
      const servers = await serverSource(store, key);
      await servers.publish(versions[0]!);
      const result = { static: [] as Step[], server: [] as Step[], checkBytes: {} as Record<string, number> };
      try {
        for (const source of [statics, servers]) {
          const config = { project: PROJECT, keys: [key.publicHex], reset_mode: "none", ...source.config };
          const device = new VirtualDevice({ files: bundledBoard(site, config, versions[0]) });
          try {
            for (let i = 1; i < versions.length; i++) {
              progress(`${scenario}: ${source.name} update to ${versions[i]}`);
              await source.publish(versions[i]!);
              source.take();
              const r = await device.run({ script: UPDATE, timeoutMs: 600_000 });
              const said = r.output.split("\n").findLast((l) => l.startsWith("update "));
              if (!r.ok || !said?.includes(`"installed": "${versions[i]}"`))
                throw new Error(
                  `${scenario} ${source.name}: update to ${versions[i]} failed: ${r.error}\n${r.output}`,
                );
              const { requests, bodyBytes } = source.take();
              const c = compared[i - 1]!;
              const wireBytes = r.netBytesIn + r.netBytesOut;
              result[source.name].push({
                version: versions[i]!,
                wireBytes,
                wireBytesIn: r.netBytesIn,
                wireBytesOut: r.netBytesOut,
                requests,
                bodyBytes,
                files: c.files,
                changedFiles: c.changedFiles,
                gzipBytes: c.gzipBytes,
                ratio: c.gzipBytes ? Math.round((wireBytes / c.gzipBytes) * 1000) / 1000 : null,
              });
              const confirmed = await device.run({ script: CONFIRM, timeoutMs: 600_000 });
              if (!confirmed.output.includes(`"version": "${versions[i]}"`))
                throw new Error(
                  `${scenario} ${source.name}: ${versions[i]} did not confirm\n${confirmed.output}`,
                );
            }
            await device.run({ script: CHECK, timeoutMs: 600_000 }); // keeps the pointer's ETag
            const idle = await device.run({ script: CHECK, timeoutMs: 600_000 });
            result.checkBytes[source.name] = idle.netBytesIn + idle.netBytesOut;
          } finally {
            await device.close();
          }
        }
      } finally {
        await statics.close();
        await servers.close();
      }
      series[scenario] = result;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const steps = Object.values(series).flatMap((s) => [...s.static, ...s.server]);
  const stepsOf = (source: "static" | "server") => Object.values(series).flatMap((s) => s[source]);
  const summary = (list: Step[]) => ({
    wireMedianRatio: median(list.map((s) => s.ratio).filter((r): r is number => r !== null)),
    wireWorstOverGzipBytes: Math.max(...list.map((s) => s.wireBytes - s.gzipBytes)),
    requestsMax: Math.max(...list.map((s) => s.requests)),
    medianWireBytes: median(list.map((s) => s.wireBytes)),
    medianEnvelopeBytes: median(list.map((s) => s.bodyBytes.envelope ?? 0)),
    medianAnswerBytes: median(list.map((s) => s.bodyBytes.answer ?? 0)),
    medianPackBytes: median(list.map((s) => s.bodyBytes.pack ?? 0)),
    updatesOverGzip: list.filter((s) => s.wireBytes > s.gzipBytes).length,
  });
  return {
    ...summary(steps),
    checkBytes: Math.max(...Object.values(series).flatMap((s) => Object.values(s.checkBytes))),
    payloadVsZstd: zstd && modifiedZstd ? Math.round((modifiedPayload / modifiedZstd) * 1000) / 1000 : null,
    ...(zstd ? {} : { zstd: "missing (apt-get install zstd): payloadVsZstd not measured" }),
    targets: {
      wireMedianRatio: 0.35,
      wireWorstOverGzipBytes: 1024,
      requestsMax: 3,
      checkBytes: 400,
      payloadVsZstd: 1.1,
    },
    updates: steps.length,
    static: summary(stepsOf("static")),
    server: summary(stepsOf("server")),
    series,
    ...(historyAnchor ? { historyAnchor } : {}),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
};

export default run;
