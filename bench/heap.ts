/**
 * `mpota bench heap --micropython PATH`: the heap an update needs on a real 32-bit MicroPython (the
 * unix port, objects sized as on an ESP32 or RP2040; ../shared/tools/micropython-unix-x86/). Boards are
 * set up as `mpota device bundle` does (bundleFiles) from releases made as `mpota release` makes them
 * (the mpota package as it ships by default, delta patches from the earlier release), published with
 * `mpota publish --static` and served on loopback; each scenario boots the board folder under
 * `-X heapsize=N` and counts as passed when the board ends where it should (state record, printed
 * result). For each scenario: the smallest N (1 KB steps) from which every larger size passes, found by
 * bisection and then a scan of the WINDOW_KB sizes above it (success is not monotonic: fragmentation);
 * sizes that failed above the first pass are reported as `nonMonotonic`.
 * Scenarios: update with one changed file of 5, 20, 50, 100 KB, patched (a patch of its own), whole, and
 * in an update pack with the envelope's patch (`perSize`: patchedKB, wholeKB, packedKB), a
 * no-update check (steady state: the board kept the pointer's ETag; firstCheckHeapKB: a new board's
 * first, which also parses the pointer), confirm and rollback of the
 * release on trial, and an update from `mpota serve` (serverUpdateHeapKB). updateMsDefaultHeap: the
 * time of each update at the binary's default heap (process start to reset).
 * Targets (issue 9): updateHeapKB <= 64 whatever the size, checkHeapKB <= 32.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFiles, shippedMpotaPackage } from "../src/client/bundle.ts";
import { configJson } from "../src/config/index.ts";
import { makeEnvelopePatch, makeReleasePack, makeReleasePatches } from "../src/delta/index.ts";
import { buildRelease } from "../src/release/index.ts";
import { AdminClient, publishRelease, releaseFromFolder } from "../src/server/admin-client.ts";
import { publishStatic, serveStatic } from "../src/static/index.ts";
import { openStore } from "../src/store/index.ts";
import { makeSigningKey } from "../testing/board.ts";
import { startTestServer } from "../testing/server.ts";
import {
  boardState,
  bootUnixPort,
  copyBoard,
  leaveCommand,
  RESET_EXIT,
  type UnixBoot,
  writeBoard,
} from "../testing/unix-port.ts";
import type { Benchmark } from "./index.ts";

const PROJECT = "greenhouse";
const SIZES_KB = [5, 20, 50, 100];
const LOW_KB = 8;
const HIGH_KB = 512;
const WINDOW_KB = 12;
const PARALLEL = 2;
/** How the changed file comes: p a patch of its own (no update pack), u whole, k in the update pack. */
const HOWS = ["p", "u", "k"] as const;
const HOW_KEY = { p: "patchedKB", u: "wholeKB", k: "packedKB" } as const;

/** The app of the bench releases: runs the one-shot command in /data/cmd and prints its result. */
const APP_MAIN = `import mpota

try:
    with open("/data/cmd") as f:
        cmd = f.read()
    import os

    os.remove("/data/cmd")
except OSError:
    cmd = ""
if cmd:
    import json

    print(cmd, json.dumps(getattr(mpota, cmd)()))
`;

/** `kb` KB of text in the style of a Python module (compresses about as source does), from `seed`. */
function textFile(kb: number, seed: Buffer): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < kb * 1024; i++) {
    const word = seed.toString("hex", i % seed.length, (i % seed.length) + 4);
    const line = `VALUE_${i} = ${(i * 7919) % 100003}  # ${word} calibration ${i % 17}\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join("").slice(0, kb * 1024);
}

/** A trial's result: passed or not, and why (for the report when even HIGH_KB fails). */
type Trial = (heapKB: number) => Promise<{ pass: boolean; why: string }>;

interface Found {
  heapKB: number | null;
  /** Sizes that failed above the first size that passed. */
  nonMonotonic: number[];
  trials: number;
  /** Why the largest size failed, when it did. */
  failure?: string;
}

/** The smallest size from which every larger size passes (bisection, then WINDOW_KB sizes above it). */
async function smallestHeap(trial: Trial): Promise<Found> {
  let trials = 0;
  const run = async (kb: number) => {
    trials++;
    return (await trial(kb)).pass;
  };
  const top = await trial(HIGH_KB);
  trials++;
  if (!top.pass) return { heapKB: null, nonMonotonic: [], trials, failure: top.why };
  let fail = LOW_KB - 1;
  let pass = HIGH_KB;
  const nonMonotonic: number[] = [];
  for (;;) {
    while (pass - fail > 1) {
      const mid = (fail + pass) >> 1;
      if (await run(mid)) pass = mid;
      else fail = mid;
    }
    // Every size in the window above must pass too; a failure there restarts the search above it.
    let failedAt = -1;
    for (let kb = pass + 1; kb <= Math.min(pass + WINDOW_KB, HIGH_KB) && failedAt < 0; kb += PARALLEL) {
      const sizes = Array.from({ length: PARALLEL }, (_, i) => kb + i).filter((s) => s <= HIGH_KB);
      const results = await Promise.all(sizes.map(run));
      const bad = sizes.filter((_, i) => !results[i]);
      if (bad.length > 0) failedAt = Math.max(...bad);
    }
    if (failedAt < 0) return { heapKB: pass, nonMonotonic, trials };
    nonMonotonic.push(pass, failedAt);
    fail = failedAt;
    pass = Math.min(failedAt + WINDOW_KB + 1, HIGH_KB);
    while (!(await run(pass)) && pass < HIGH_KB) {
      fail = pass;
      pass = Math.min(pass + WINDOW_KB, HIGH_KB);
    }
  }
}

/** The result line `name {json}` the app printed, or undefined. */
function printed(output: string, name: string): Record<string, unknown> | undefined {
  const line = output.split("\n").findLast((l) => l.startsWith(`${name} `));
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line.slice(name.length + 1));
  } catch {
    return undefined;
  }
}

function tail(boot: UnixBoot): string {
  return boot.output.trim().split("\n").slice(-3).join(" | ");
}

/** A trial: boots a copy of `template` with `cmd` left for the app; `check` says whether it ended well. */
function scenario(
  binary: string,
  template: string,
  cmd: string,
  check: (boot: UnixBoot, board: string) => boolean,
): Trial {
  return async (heapKB) => {
    const board = copyBoard(template);
    try {
      leaveCommand(board, cmd);
      const boot = await bootUnixPort(binary, board, { heapKB, timeoutMs: 300_000 });
      const pass = !boot.timedOut && check(boot, board);
      return { pass, why: pass ? "" : `exit ${boot.code}: ${tail(boot)}` };
    } finally {
      rmSync(board, { recursive: true, force: true });
    }
  };
}

/** The site of the scenarios, served on loopback, and boards set up for its channels. */
export interface HeapSite {
  url: string;
  /** The paths the site's server was asked for, in order (tests may clear it). */
  served: string[];
  /** The static site folder and the key its releases are signed with. */
  dir: string;
  publicKey: string;
  /** Channel -> the version it offers: c<KB>p (patched), c<KB>u (whole file), c<KB>k (patched, in an
   * update pack), "same" (1.0.0). */
  versions: Record<string, string>;
  /** A new board folder on 1.0.0 (as `mpota device bundle` writes it) following `channel` of the
   * site, or of `source` when given. */
  boardFor: (channel: string, source?: Record<string, string>, extra?: Record<string, unknown>) => string;
  close: () => Promise<void>;
}

/**
 * Release 1.0.0 (APP_MAIN, one text file of each size, the mpota package as `mpota release` adds it),
 * then per size a release changing that file a little, once with signed per-file patches from 1.0.0
 * (p: `--signed-patches`, what boards from before update packs use) and once with an update pack from
 * 1.0.0 (k: `mpota release`'s default), and one replacing it (u: no patches), each published to its own
 * channel of a static site.
 */
export async function heapSite(): Promise<HeapSite> {
  const work = mkdtempSync(join(tmpdir(), "mpota-bench-heap-"));
  const store = openStore(join(work, "store"));
  const site = join(work, "site");
  const key = makeSigningKey();
  const server = await serveStatic(site);
  const seed = randomBytes(64);
  const base: Record<string, string> = { "main.py": APP_MAIN };
  for (const kb of SIZES_KB) base[`assets/f${kb}.py`] = textFile(kb, seed);
  /** p: signed per-file patches (boards from before update packs); k: update packs; u: no patches. */
  const release = async (version: string, tree: Record<string, string>, how: "p" | "k" | "u") => {
    const dir = join(work, `tree-${version}`);
    for (const [path, text] of Object.entries(tree)) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    await buildRelease({
      dir,
      project: PROJECT,
      version,
      key,
      store,
      makePatches: how === "u" ? undefined : makeReleasePatches,
      makeEnvelopePatch: how === "u" ? undefined : makeEnvelopePatch,
      makePack: how === "k" ? makeReleasePack : undefined,
      signedPatches: how === "p",
      patchBases: 99,
      mpotaPackage: await shippedMpotaPackage(),
    });
  };
  await release("1.0.0", base, "u");
  const versions: Record<string, string> = { same: "1.0.0" };
  let minor = 1;
  for (const kb of SIZES_KB)
    for (const how of HOWS) {
      const version = `1.${minor++}.0`;
      const text =
        how === "u"
          ? textFile(kb, randomBytes(64))
          : base[`assets/f${kb}.py`]!.replace(/= (\d+)/g, (m, n, at) => (at % 997 < 40 ? `= ${n}1` : m));
      await release(version, { ...base, [`assets/f${kb}.py`]: text }, how);
      const channel = `c${kb}${how}`;
      versions[channel] = version;
      publishStatic({ site, store, project: PROJECT, version, channel });
    }
  publishStatic({ site, store, project: PROJECT, version: "1.0.0", channel: "same" });
  const first = {
    envelope: store.readRelease(PROJECT, "1.0.0").bytes,
    blob: (sha: string) => store.readBlob(sha),
  };
  return {
    url: server.url,
    served: server.requests,
    dir: site,
    publicKey: key.publicHex,
    versions,
    boardFor: (channel, source, extra) => {
      const config = configJson({
        project: PROJECT,
        keys: [key.publicHex],
        source: { type: "static", url: server.url, channel, ...source },
        ...extra,
        // biome-ignore lint/suspicious/noExplicitAny: the config is valid by construction
      } as any);
      return writeBoard(
        bundleFiles({ config: JSON.parse(config), configJson: config, release: first }).files,
      );
    },
    close: async () => {
      await server.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

const SCENARIOS = ["update", "check", "firstCheck", "confirm", "rollback", "server", "field"];

/** Scenario "field": a board with a status LED, a battery gate, a schedule and an update watchdog. */
function fieldConfig(): Record<string, unknown> {
  const hour = new Date().getUTCHours();
  return {
    led: { pin: 2 },
    battery: { adc_pin: 34, divider: 2, min_percent: 20 },
    schedule: {
      min_interval_s: 60,
      window: { start_hour: (hour + 23) % 24, end_hour: (hour + 2) % 24 },
      defer_after_crashes: 3,
      rollout_percent: 100,
    },
    watchdog_ms: 30000,
  };
}

/** The unix port has no Pin or ADC: its machine stand-in takes them from the board's /lib. */
const MACHINE_FIELD_PY = `# Pin and ADC for the unix port: a pin keeps its level, the ADC reads 1.9 V.
class Pin:
    IN = 1
    OUT = 3

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self._v = value or 0

    def value(self, v=None):
        if v is None:
            return self._v
        self._v = v


class ADC:
    def __init__(self, pin, atten=None):
        pass

    def read_uv(self):
        return 1900000
`;

const run: Benchmark = async ({ progress, micropython, scenarios = SCENARIOS }) => {
  if (!micropython) throw new Error("give the MicroPython unix-port binary: --micropython PATH");
  if (!existsSync(micropython)) throw new Error(`--micropython ${micropython}: no such file`);
  const unknown = scenarios.filter((s) => !SCENARIOS.includes(s));
  if (unknown.length > 0)
    throw new Error(`--scenario ${unknown.join(",")}: unknown; known: ${SCENARIOS.join(", ")}`);
  const want = (name: string) => scenarios.includes(name);
  const skipped: Found = { heapKB: null, nonMonotonic: [], trials: 0 };
  progress("releases: a base and one release per changed file");
  const site = await heapSite();
  const { boardFor, versions } = site;
  try {
    const installed = (version: string) => (boot: UnixBoot, board: string) => {
      const state = boardState(board);
      return (
        boot.code === RESET_EXIT &&
        !boot.memoryError &&
        state?.state === "trial" &&
        state.slot === 1 &&
        state.versions[1] === version
      );
    };

    progress("import mpota");
    const sameBoard = boardFor("same");
    const imported = await bootUnixPort(micropython, sameBoard, {
      script: `sys.path[:] = ["/.mpota/slot0/lib"]
import gc
gc.collect()
a = gc.mem_alloc()
import mpota
gc.collect()
print("import", gc.mem_alloc() - a)
`,
    });
    const importHeapBytes = Number(imported.output.match(/^import (\d+)/m)?.[1] ?? Number.NaN);

    const perSize: Record<string, Record<(typeof HOW_KEY)[keyof typeof HOW_KEY], number | null>> = {};
    const details: Record<string, Found> = {};
    const updateMs: Record<string, number> = {};
    let trialBoard: string | undefined;
    // Without the update scenario, one update at the default heap still puts a board on trial for
    // confirm and rollback.
    const trialNeeded = want("confirm") || want("rollback");
    for (const kb of want("update") ? SIZES_KB : trialNeeded ? SIZES_KB.slice(0, 1) : []) {
      if (want("update")) perSize[`${kb}KB`] = { patchedKB: null, wholeKB: null, packedKB: null };
      for (const how of want("update") ? HOWS : (["p"] as const)) {
        const tag = `${kb}${how}`;
        const template = boardFor(`c${tag}`);
        const version = versions[`c${tag}`]!;
        // One run at the default heap: its time, and (once) the board on trial for confirm/rollback.
        const timed = copyBoard(template);
        leaveCommand(timed, "update");
        site.served.length = 0;
        const t0 = performance.now();
        const first = await bootUnixPort(micropython, timed, { timeoutMs: 300_000 });
        updateMs[tag] = Math.round(performance.now() - t0);
        if (!installed(version)(first, timed))
          throw new Error(`update to ${version} failed at the default heap: ${tail(first)}`);
        const asked = site.served.slice(1).map((p) => p.split("/")[2]);
        if (how === "k" && asked.join() !== "packs")
          throw new Error(`the update to ${version} did not come from its pack alone: ${asked.join(", ")}`);
        if (trialBoard === undefined) trialBoard = timed;
        else rmSync(timed, { recursive: true, force: true });
        if (!want("update")) continue;
        progress(
          `update, one changed file of ${kb} KB, ${{ p: "patched", u: "whole", k: "update pack" }[how]}`,
        );
        const found = await smallestHeap(scenario(micropython, template, "update", installed(version)));
        details[`update${tag}`] = found;
        perSize[`${kb}KB`]![HOW_KEY[how]] = found.heapKB;
        rmSync(template, { recursive: true, force: true });
      }
    }

    const firstCheck = !want("firstCheck")
      ? skipped
      : await smallestHeap(
          scenario(micropython, sameBoard, "check", (boot) => {
            const result = printed(boot.output, "check");
            return boot.code === 0 && result?.ok === true && result.available === null;
          }),
        );
    if (want("firstCheck")) progress("first check of a new board (no ETag kept yet)");
    leaveCommand(sameBoard, "check");
    const primed = await bootUnixPort(micropython, sameBoard, { timeoutMs: 300_000 });
    if (printed(primed.output, "check")?.ok !== true)
      throw new Error(`check failed at the default heap: ${tail(primed)}`);
    if (want("check")) progress("no-update check (steady state: the board kept the pointer's ETag)");
    const check = !want("check")
      ? skipped
      : await smallestHeap(
          scenario(micropython, sameBoard, "check", (boot) => {
            const result = printed(boot.output, "check");
            return boot.code === 0 && result?.ok === true && result.available === null;
          }),
        );
    if (want("confirm")) progress("confirm of the release on trial");
    const confirm = !want("confirm")
      ? skipped
      : await smallestHeap(
          scenario(micropython, trialBoard!, "confirm", (boot, board) => {
            return (
              boot.code === 0 &&
              printed(boot.output, "confirm")?.ok === true &&
              boardState(board)?.state === "good"
            );
          }),
        );
    if (want("rollback")) progress("rollback of the release on trial");
    const rollback = !want("rollback")
      ? skipped
      : await smallestHeap(
          scenario(micropython, trialBoard!, "rollback", (boot, board) => {
            const state = boardState(board);
            return boot.code === RESET_EXIT && state?.slot === 0 && state.state === "good";
          }),
        );

    // The field scenario: the update of a board with all of them, then with each alone (what each
    // adds over the plain update of the same file, `perSize["100KB"].wholeKB`).
    const fieldKB: Record<string, number | null> = {};
    let field = skipped;
    if (want("field")) {
      const kb = SIZES_KB[SIZES_KB.length - 1];
      const all = fieldConfig();
      for (const name of ["all", ...Object.keys(all)]) {
        progress(`update of a board in the field (${name}), one file of ${kb} KB, whole`);
        const extra = name === "all" ? all : { [name]: all[name] };
        const template = boardFor(`c${kb}u`, undefined, extra);
        mkdirSync(join(template, "lib"), { recursive: true });
        writeFileSync(join(template, "lib", "machine_field.py"), MACHINE_FIELD_PY);
        const found = await smallestHeap(
          scenario(micropython, template, "update", installed(versions[`c${kb}u`]!)),
        );
        if (name === "all") field = found;
        fieldKB[name] = found.heapKB;
        rmSync(template, { recursive: true, force: true });
      }
    }

    let server = skipped;
    if (want("server")) {
      progress("update from mpota serve (server source), one changed file of 5 KB, in an update pack");
      const served = await startTestServer("sqlite", { limits: { checkinIntervalMs: 0 } });
      try {
        await served.app.listen({ port: 0, host: "127.0.0.1" });
        const url = `http://127.0.0.1:${(served.app.server.address() as { port: number }).port}`;
        const admin = new AdminClient(url, served.adminToken);
        await admin.request("POST", "/projects", { name: PROJECT });
        await admin.request("POST", `/projects/${PROJECT}/keys`, { publicKey: site.publicKey });
        const version = versions.c5k!;
        for (const v of ["1.0.0", version])
          await publishRelease(admin, await releaseFromFolder(site.dir, PROJECT, v), { project: PROJECT });
        await admin.request("PUT", `/projects/${PROJECT}/channels/stable`, { version });
        const { token } = await admin.request<{ token: string }>("POST", `/projects/${PROJECT}/devices`, {
          id: "bench-1",
        });
        const template = boardFor("stable", { type: "server", url, device_id: "bench-1", token });
        server = await smallestHeap(scenario(micropython, template, "update", installed(version)));
        rmSync(template, { recursive: true, force: true });
      } finally {
        await served.close();
      }
    }

    const sizes = Object.values(perSize).flatMap((s) => Object.values(s));
    return {
      micropython,
      scenarios,
      updateHeapKB: sizes.length === 0 || sizes.includes(null) ? null : Math.max(...(sizes as number[])),
      checkHeapKB: check.heapKB,
      firstCheckHeapKB: firstCheck.heapKB,
      confirmHeapKB: confirm.heapKB,
      rollbackHeapKB: rollback.heapKB,
      serverUpdateHeapKB: server.heapKB,
      fieldUpdateHeapKB: field.heapKB,
      fieldUpdateHeapKBEach: fieldKB,
      perSize,
      importHeapBytes,
      updateMsDefaultHeap: updateMs,
      details: { ...details, check, firstCheck, confirm, rollback, server, field },
    };
  } finally {
    await site.close();
  }
};

export default run;
