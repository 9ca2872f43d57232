/**
 * Boards that follow a git source, for the device tests and the benchmark: an app whose main.py prints
 * the running version (a commit or tag, known only once committed) and carries out /data/cmd, a
 * repository holding it, and a board with one of its commits installed in slot 0.
 */

import { firstStateRecord } from "../src/client/state-record.ts";
import { VirtualDevice } from "../src/sim/index.ts";
import { appTree, boardTree, COMMAND_PY, devicePackage } from "./board.ts";
import type { GitRepo } from "./git-hosts/git-repo.ts";
import { type CutScenario, type DurabilityModel, judgeBoard } from "./powercut.ts";
import { scaled } from "./sim.ts";

/** main.py of a test app: prints `running <version>`, then carries out /data/cmd (COMMAND_PY). */
export function gitAppMain(label: string): string {
  return `import mpota, json, os
LABEL = ${JSON.stringify(label)}
print("running " + str(mpota.status()["version"]))
${COMMAND_PY}`;
}

/** An app tree (main.py + `extra`), with the mpota package in lib/mpota/ unless `withMpota` is false. */
export function gitApp(label: string, extra: Record<string, string> = {}, withMpota = true) {
  const tree = appTree(gitAppMain(label), extra);
  if (!withMpota) for (const path of Object.keys(devicePackage())) delete tree[path];
  return tree;
}

/** The files of `commit` below `subdir` (the slot a board should end up with), by slot path. */
export function treeAt(repo: GitRepo, commit: string, subdir = ""): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const e of repo.tree(commit)) {
    if (e.type === "blob" && e.path.startsWith(subdir)) out[e.path.slice(subdir.length)] = repo.blob(e.sha);
  }
  return out;
}

/**
 * A board running `version` (whose files are `slot`) from slot 0, following the source in `config`.
 * A slot without the mpota package gets it in /lib, as a firmware with mpota frozen in has it: the
 * releases then need no copy, which keeps pure-Python Git SHA-1 checks of a test update small.
 */
export function gitBoard(slot: Record<string, Uint8Array | string>, version: string, config: unknown) {
  const frozen = "lib/mpota/__init__.py" in slot ? {} : devicePackage();
  return boardTree({
    slots: [slot, null],
    record: firstStateRecord(version),
    config,
    files: { "data/": "", ...frozen },
  });
}

/**
 * Power cuts at `count` points spread over the scenario's clean run, each followed by a full boot (the
 * full matrix of the same install code runs in src/client's power-cut tests). Returns the flash after
 * the clean run and what went wrong, one line a cut ([] when every run ended on an allowed release).
 */
export async function spreadCuts(
  scenario: CutScenario,
  model: DurabilityModel,
  count: number,
): Promise<{ clean: Record<string, Uint8Array>; failures: string[] }> {
  const board = new VirtualDevice({ files: scenario.files });
  let ops: number;
  let clean: Record<string, Uint8Array>;
  try {
    const run = await board.run({ maxReboots: 2 });
    clean = board.files();
    const problem = judgeBoard(scenario, clean, run.output);
    if (problem) return { clean, failures: [`without a cut: ${problem}`] };
    ops = run.flashOps;
  } finally {
    await board.close();
  }
  const points = new Set(
    Array.from({ length: count }, (_, i) => 1 + Math.floor((i * (ops - 1)) / (count - 1))),
  );
  const failures: string[] = [];
  for (const cutAt of points) {
    const device = new VirtualDevice({ files: scenario.files, flash: { model, cutAt } });
    try {
      const result = await device.run({ maxReboots: 4, timeoutMs: scaled(60_000) });
      const why = result.resets.some((r) => r.cause === "cut")
        ? judgeBoard(scenario, device.files(), result.output)
        : "the cut did not happen";
      if (why) failures.push(`cut at ${cutAt}: ${why}`);
    } finally {
      await device.close();
    }
  }
  return { clean, failures };
}
