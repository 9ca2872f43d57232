/**
 * Boards that follow a git source, for the device tests and the benchmark: an app whose main.py prints
 * the running version (a commit or tag, known only once committed) and carries out /data/cmd, a
 * repository holding it, and a board with one of its commits installed in slot 0.
 */
import { firstStateRecord } from "../../client/state-record.ts";
import { appTree, boardTree, COMMAND_PY, devicePackage } from "../../client/testkit.ts";
import type { GitRepo } from "../git-repo.ts";

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

/** A board running `version` (whose files are `slot`) from slot 0, following the source in `config`. */
export function gitBoard(slot: Record<string, Uint8Array | string>, version: string, config: unknown) {
  return boardTree({
    slots: [slot, null],
    record: firstStateRecord(version),
    config,
    files: { "data/": "" },
  });
}
