/**
 * The power-cut matrix: run a scenario once to count its mutating flash operations, then once per
 * operation with the power cut just before it, letting the board reboot from what the flash kept.
 * Every run must end with the board running exactly one of the scenario's releases, and every
 * release the state record names must be in its slot byte for byte.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { currentState, firstStateRecord, type StateRecord } from "../src/client/state-record.ts";
import { type FlashTree, VirtualDevice } from "../src/sim/index.ts";
import {
  boardTree,
  buildRelease,
  bundledBoard,
  devicePackage,
  makeSigningKey,
  publishPointer,
  sameTree,
  serveStatic,
  slotTree,
  testApp,
} from "./board.ts";
import { scaled } from "./sim.ts";

export type DurabilityModel = "torn" | "commit-on-close";

export interface CutScenario {
  name: string;
  /** The board's flash before the run. */
  files: FlashTree;
  /** The releases the board may end up running (and the slots may hold), by version. */
  releases: Record<string, Record<string, Uint8Array>>;
  /** Only these versions may be running at the end (old or new). */
  allowed: string[];
}

export interface CutFailure {
  scenario: string;
  model: DurabilityModel;
  cutAt: number;
  why: string;
}

/** What is wrong with a board after a run (undefined: it runs one allowed release, slots intact). */
export function judgeBoard(
  scenario: CutScenario,
  files: Record<string, Uint8Array>,
  output: string,
): string | undefined {
  const record = currentState(files);
  if (!record) return "no valid state record";
  const running = record.versions[record.slot];
  if (running === null || !scenario.allowed.includes(running))
    return `runs ${running}, expected one of ${scenario.allowed.join(", ")}`;
  for (const slot of [0, 1] as const) {
    const version = record.versions[slot];
    if (version === null) continue;
    const release = scenario.releases[version];
    if (!release) return `slot ${slot} is said to hold unknown version ${version}`;
    if (!sameTree(slotTree(files, slot), release))
      return `slot ${slot} does not hold ${version} byte for byte`;
  }
  const last = output.split("\n").findLast((l) => l.startsWith("running "));
  if (last !== `running ${running}`)
    return `the last boot printed "${last}", the state record names ${running}`;
  return undefined;
}

async function runBoard(scenario: CutScenario, model: DurabilityModel, cutAt?: number) {
  const device = new VirtualDevice({ files: scenario.files, flash: { model, cutAt } });
  try {
    const result = await device.run({ maxReboots: 6, timeoutMs: scaled(30_000) });
    return { result, files: device.files() };
  } finally {
    await device.close();
  }
}

/** Runs `jobs` with at most `concurrency` at a time. */
async function pool<T>(jobs: Array<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return out;
}

/** Cuts the power at every mutating flash operation of the scenario's clean run, in one model. */
export async function cutMatrix(
  scenario: CutScenario,
  model: DurabilityModel,
  options: { concurrency?: number; onCut?: () => void } = {},
): Promise<{ cutPoints: number; failures: CutFailure[] }> {
  const clean = await runBoard(scenario, model);
  const fail = (cutAt: number, why: string): CutFailure => ({ scenario: scenario.name, model, cutAt, why });
  const cleanProblem = clean.result.ok
    ? judgeBoard(scenario, clean.files, clean.result.output)
    : clean.result.error;
  if (cleanProblem)
    return { cutPoints: 0, failures: [fail(0, `the run without a cut fails: ${cleanProblem}`)] };
  const ops = clean.result.flashOps;
  const jobs = Array.from({ length: ops }, (_, i) => async () => {
    const cutAt = i + 1;
    const { result, files } = await runBoard(scenario, model, cutAt);
    options.onCut?.();
    if (!result.resets.some((r) => r.cause === "cut" && r.atOp === cutAt))
      return fail(cutAt, "the cut did not happen");
    if (!result.ok) return fail(cutAt, `the board did not come back: ${result.end} ${result.error ?? ""}`);
    const why = judgeBoard(scenario, files, result.output);
    return why ? fail(cutAt, why) : undefined;
  });
  const verdicts = await pool(jobs, options.concurrency ?? 2);
  return { cutPoints: ops, failures: verdicts.filter((v): v is CutFailure => v !== undefined) };
}

/**
 * The standard matrix: an update (1.0.0 -> 1.1.0 over a loopback static site), a confirm, a rollback,
 * and the loader's own recovery (a trial release that crashes, one never confirmed).
 */
export async function standardScenarios(
  options: { wholeApp?: boolean } = {},
): Promise<{ scenarios: CutScenario[]; close: () => Promise<void> }> {
  const site = mkdtempSync(join(tmpdir(), "mpota-powercut-"));
  const server = await serveStatic(site);
  const key = makeSigningKey();
  const project = "greenhouse";
  const page = (title: string) => `<h1>${title}</h1>\n${"<p>readings and charts</p>\n".repeat(400)}`; // > 2 buffers
  // mpota lives outside the slots here (/lib/mpota, as when it is frozen into the firmware), so the
  // releases stay small and the matrix fast: each kind of flash op, not many of each. The releases
  // with the package inside are covered by src/device-tests/updating.test.ts.
  const app = (version: string, extra: Record<string, string>) => withoutPackage(testApp(version, extra));
  const v100 = app("1.0.0", {
    "lib/sensors/temp.py": "OFFSET = 1\n",
    "lib/sensors/hum.py": "HUM = 1\n",
    "web/index.html": page("greenhouse"),
    "old.py": "OLD = True\n",
  });
  const v110 = app("1.1.0", {
    "lib/sensors/temp.py": "OFFSET = 2\n",
    "lib/sensors/hum.py": "HUM = 1\n",
    "web/index.html": page("greenhouse 1.1"),
    "undo.py": 'with open("/data/undone", "w") as f:\n    f.write("1.1.0")\n',
  });
  const v120 = app("1.2.0", {});
  v120["main.py"] = Buffer.from('print("running 1.2.0")\nraise RuntimeError("1.2.0 is broken")\n');
  // What the update scenarios install: one file copied, one changed, one added three folders deep, one
  // larger than the buffer, one removed; these releases only have to boot and say so.
  const small = (version: string, from: Record<string, Uint8Array>) => ({
    "main.py": Buffer.from(`print("running ${version}")\n`),
    "lib/sensors/hum.py": from["lib/sensors/hum.py"]!,
    "lib/sensors/temp.py": Buffer.from(`OFFSET = ${version}\n`),
    "lib/new/deep/mod.py": Buffer.from("ADDED = True\n"),
    "web/index.html": Buffer.from(page(version)),
  });
  const v101 = small("1.0.1", v100);
  const v130 = small("1.3.0", v110);
  buildRelease(site, project, "1.0.0", v100, key);
  const envelope101 = buildRelease(site, project, "1.0.1", v101, key);
  const envelope110 = buildRelease(site, project, "1.1.0", v110, key, { hooks: { rollback: "undo.py" } });
  buildRelease(site, project, "1.3.0", v130, key);
  publishPointer(site, project, "stable", "1.1.0");
  publishPointer(site, project, "small", "1.0.1");
  publishPointer(site, project, "next", "1.3.0");
  const config = {
    project,
    keys: [key.publicHex],
    source: { type: "static", url: server.url, channel: "stable" },
  };
  const onChannel = (channel: string) => JSON.stringify({ ...config, source: { ...config.source, channel } });
  const releases = { "1.0.0": v100, "1.0.1": v101, "1.1.0": v110, "1.2.0": v120, "1.3.0": v130 };
  const withCmd = (files: FlashTree, cmd: string): FlashTree => ({
    ...files,
    ...devicePackage(),
    "data/cmd": cmd,
  });

  const bundled = bundledBoard(site, config, "1.0.0");
  const afterUpdate = await settle(withCmd(bundled, "update"));
  const afterConfirm = await settle(withCmd(afterUpdate, "confirm"));
  // Running 1.1.0 (good) from slot 1, with the small 1.0.1 in slot 0 to give up for the next release.
  const secondUpdate = boardTree({
    slots: [v101, v110],
    record: { ...firstStateRecord("1.0.1"), slot: 1, versions: ["1.0.1", "1.1.0"] },
    config: JSON.parse(onChannel("next")),
    files: {
      ...devicePackage(),
      "data/cmd": "update",
      ".mpota/slot0.json": envelope101,
      ".mpota/slot1.json": envelope110,
    },
  });
  const trialOf = (version: string, record: Partial<StateRecord>) =>
    boardTree({
      slots: [v100, releases[version as keyof typeof releases]],
      record: {
        ...firstStateRecord("1.0.0"),
        slot: 1,
        state: "trial",
        versions: ["1.0.0", version],
        ...record,
      },
      config,
      files: { ...devicePackage(), "data/": "" },
    });
  const scenarios: CutScenario[] = [
    {
      name: "update",
      files: { ...withCmd(bundled, "update"), "ota_config.json": onChannel("small") },
      releases,
      allowed: ["1.0.0", "1.0.1"],
    },
    {
      // Into the slot that holds the previous release: it is given up (state record first), then rewritten.
      name: "second update",
      files: secondUpdate,
      releases,
      allowed: ["1.1.0", "1.3.0"],
    },
    { name: "confirm", files: withCmd(afterUpdate, "confirm"), releases, allowed: ["1.1.0"] },
    { name: "rollback", files: withCmd(afterConfirm, "rollback"), releases, allowed: ["1.0.0", "1.1.0"] },
    { name: "recovery after a crash", files: trialOf("1.2.0", { boots: 0 }), releases, allowed: ["1.0.0"] },
    {
      name: "recovery after max_boots",
      files: trialOf("1.1.0", { boots: 3, max_boots: 3, back_hook: "/.mpota/slot1/undo.py" }),
      releases,
      allowed: ["1.0.0"],
    },
  ];
  if (options.wholeApp) {
    // The layout of a real board: mpota inside each release; every package file is copied or replaced.
    const whole200 = testApp("2.0.0", {
      "lib/sensors/temp.py": "OFFSET = 1\n",
      "web/index.html": page("2.0.0"),
    });
    const whole210 = testApp("2.1.0", {
      "lib/sensors/temp.py": "OFFSET = 2\n",
      "lib/new/mod.py": "NEW = 1\n",
    });
    buildRelease(site, project, "2.0.0", whole200, key);
    buildRelease(site, project, "2.1.0", whole210, key);
    publishPointer(site, project, "whole", "2.1.0");
    const wholeConfig = JSON.parse(onChannel("whole"));
    scenarios.push({
      name: "update of a whole app",
      files: { ...bundledBoard(site, wholeConfig, "2.0.0"), "data/cmd": "update" },
      releases: { "2.0.0": whole200, "2.1.0": whole210 },
      allowed: ["2.0.0", "2.1.0"],
    });
  }
  return {
    scenarios,
    close: async () => {
      await server.close();
      rmSync(site, { recursive: true, force: true });
    },
  };
}

/** A release tree without the mpota package (which these boards keep in /lib/mpota). */
function withoutPackage(tree: Record<string, Uint8Array>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(tree).filter(([path]) => !path.startsWith("lib/mpota/")));
}

/** The flash after one clean run of `files` (the board's state after a step, to start the next from). */
async function settle(files: FlashTree): Promise<Record<string, Uint8Array>> {
  const device = new VirtualDevice({ files });
  try {
    const result = await device.run({ maxReboots: 4 });
    if (!result.ok) throw new Error(`preparing a power-cut scenario failed: ${result.error}`);
    return device.files();
  } finally {
    await device.close();
  }
}
