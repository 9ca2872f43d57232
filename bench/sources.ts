/**
 * `mpota bench sources`: what following each kind of source costs a board, on the virtual device
 * against the emulators (GitHub Enterprise-style API with raw files on another host, Gitea, Gogs) and
 * a micropython_ota static layout, all serving the example app (examples/greenhouse + lib/mpota):
 * - check: a no-update check in steady state (the board kept the last answer's ETag where the API
 *   gives one): requests the server saw, bytes on the wire both ways;
 * - update: the next version, which changes lib/sensors.py and main.py, from a board that installed
 *   the previous one from the same source (so unchanged files are copied from the running slot).
 * The device's sockets count the bytes (requests and responses, headers included).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exampleAppTree } from "../src/demo/index.ts";
import { VirtualDevice } from "../src/sim/index.ts";
import { writeMicropythonOta } from "../src/sources/index.ts";
import { COMMAND_PY, devicePackage, printed, runCommand } from "../testing/board.ts";
import { gitBoard } from "../testing/git-board.ts";
import { createRepo, type Emulator, startGitea, startGitHub, startGogs } from "../testing/git-hosts/index.ts";
import { serveMicropythonOta } from "../testing/micropython-ota-server.ts";
import type { Benchmark } from "./index.ts";

/**
 * The example app's two versions as the board runs them: a main.py carrying out /data/cmd and the
 * example's lib (`next` also changes lib/sensors.py); `app` without the mpota package (what a
 * micropython_ota layout lists), `board` with it in lib/mpota/.
 */
function exampleApps() {
  const example = exampleAppTree();
  const version = (label: string) => {
    const main = `import mpota, json, os
LABEL = ${JSON.stringify(label)}
${COMMAND_PY}`;
    const app: Record<string, Uint8Array> = { ...example, "main.py": Buffer.from(main) };
    if (label === "next")
      app["lib/sensors.py"] = Buffer.from(
        `${Buffer.from(example["lib/sensors.py"]!)}\n# calibrated 2026-11\n`,
      );
    return { app, board: { ...app, ...devicePackage() } };
  };
  return { first: version("first"), next: version("next") };
}

export interface SourceFigures {
  checkRequests: number;
  checkBytes: number;
  updateRequests: number;
  updateBytes: number;
}

async function measure(
  files: Record<string, Uint8Array | string>,
  requests: () => number,
  publishNext: () => void,
): Promise<SourceFigures> {
  const device = new VirtualDevice({ files });
  const step = async (cmd: string) => {
    const before = requests();
    const r = await runCommand(device, cmd, { timeoutMs: 600_000 });
    const result = printed(r.output, cmd.split("-")[0]!);
    if (!result?.ok) throw new Error(`${cmd} failed: ${result ? JSON.stringify(result) : r.output}`);
    return { requests: requests() - before, bytes: r.netBytesIn + r.netBytesOut };
  };
  try {
    await step("update-force"); // the board installs the current version from this source
    await step("confirm");
    await step("check"); // the first check keeps the answer's ETag
    const check = await step("check");
    publishNext();
    const update = await step("update");
    return {
      checkRequests: check.requests,
      checkBytes: check.bytes,
      updateRequests: update.requests,
      updateBytes: update.bytes,
    };
  } finally {
    await device.close();
  }
}

const run: Benchmark = async ({ progress }) => {
  const apps = exampleApps();
  const repo = createRepo();
  const first = repo.commitTree(apps.first.board, "first");
  const next = repo.commitTree(apps.next.board, "next");
  repo.branch("device", first);
  const out: Record<string, SourceFigures> = {};
  const emulators: Array<[string, () => Promise<Emulator>]> = [
    ["github", () => startGitHub({ repos: { "acme/greenhouse": { repo } } })],
    ["gitea", () => startGitea({ repos: { "acme/greenhouse": { repo } } })],
    ["gogs", () => startGogs({ repos: { "acme/greenhouse": { repo } } })],
  ];
  try {
    for (const [type, start] of emulators) {
      progress(`${type}…`);
      repo.branch("device", first);
      const emulator = await start();
      try {
        const config = {
          project: "greenhouse",
          keys: [],
          reset_mode: "none",
          source: { type, api: emulator.api, repo: "acme/greenhouse", branch: "device" },
        };
        out[type] = await measure(
          gitBoard(apps.first.board, first, config),
          () => emulator.requests.length,
          () => repo.branch("device", next),
        );
      } finally {
        await emulator.close();
      }
    }
    progress("micropython_ota…");
    const root = mkdtempSync(join(tmpdir(), "mpota-bench-mota-"));
    const server = await serveMicropythonOta(root);
    try {
      writeMicropythonOta(root, { project: "greenhouse", version: "v1.0.0", files: apps.first.app });
      const config = {
        project: "greenhouse",
        keys: [],
        reset_mode: "none",
        source: {
          type: "micropython_ota",
          host: server.url,
          project: "greenhouse",
          filenames: Object.keys(apps.first.app).sort(),
        },
      };
      out.micropython_ota = await measure(
        gitBoard(apps.first.board, "v1.0.0", config),
        () => server.requests.length,
        () => writeMicropythonOta(root, { project: "greenhouse", version: "v1.0.1", files: apps.next.app }),
      );
    } finally {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    }
  } finally {
    repo.close();
  }
  return out;
};

export default run;
