/**
 * The demo's boards: each a VirtualDevice (the real MicroPython in a worker) flashed the way
 * `mpota device bundle` does it, with the example app's release and a `server` source config.
 * A board "wakes" every interval: boots, takes its readings, confirms its release, checks for an
 * update (and installs it, rebooting into it). Boards run a few at a time so the machine stays usable.
 */
import { bundleFiles, type ReleaseSource, releaseFrom } from "../client/bundle.ts";
import { configJson, configProblems, type OtaConfig } from "../config/index.ts";
import { VirtualDevice } from "../sim/index.ts";
import type { DemoBoardSecret } from "./files.ts";

export interface FleetOptions {
  url: string;
  project: string;
  channel: string;
  publicKey: string;
  /** The release store holding `version`, the release each board starts with. */
  storeDir: string;
  version: string;
  boards: DemoBoardSecret[];
  /** Least ms from one wake of a board to its next. */
  intervalMs: number;
  /** Boards awake at once. */
  concurrency: number;
  /** After every round of wakes (all boards once); must not throw. */
  onRound: () => Promise<void>;
  /** A board's wake that went wrong (it timed out, or its code raised). */
  onTrouble: (id: string, problem: string) => void;
}

export interface RunningFleet {
  /** Ends the wakes under way at once and stops. */
  stop(): Promise<void>;
}

/** A board's flash: loader, config with its device token, `version` in slot 0 (`mpota device bundle`). */
function boardFlash(
  options: FleetOptions,
  board: DemoBoardSecret,
  release: ReleaseSource,
): Record<string, Uint8Array> {
  const config: OtaConfig = {
    project: options.project,
    keys: [options.publicKey],
    source: {
      type: "server",
      url: options.url,
      channel: options.channel,
      device_id: board.id,
      token: board.token,
    },
  };
  const problems = configProblems(config);
  if (problems.length > 0) throw new Error(`board ${board.id}'s config: ${problems.join("; ")}`);
  return bundleFiles({ config, configJson: configJson(config), release }).files;
}

export function startFleet(options: FleetOptions): RunningFleet {
  // One read of the starting release for all the boards.
  const release = releaseFrom(options.storeDir, options.project, options.version);
  const devices = options.boards.map(
    (board, i) =>
      new VirtualDevice({
        files: boardFlash(options, board, release),
        uniqueId: `a4cf12b3${(i + 1).toString(16).padStart(4, "0")}`,
      }),
  );
  let stopped = false;
  let wake: () => void = () => {};
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const runBoard = async (i: number) => {
    const id = options.boards[i]!.id;
    try {
      const result = await devices[i]!.run({ timeoutMs: 60_000, maxReboots: 4 });
      if (stopped) return;
      if (result.end === "timeout") options.onTrouble(id, "did not finish within 60 s");
      else if (!result.ok) options.onTrouble(id, result.error ?? "stopped with an error");
    } catch (err) {
      if (!stopped) options.onTrouble(id, `the virtual board failed: ${(err as Error).message}`);
    }
  };

  const loop = async () => {
    while (!stopped) {
      const started = Date.now();
      let next = 0;
      const worker = async () => {
        while (!stopped && next < devices.length) await runBoard(next++);
      };
      await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
      if (stopped) break;
      await options.onRound();
      await pause(Math.max(0, options.intervalMs - (Date.now() - started)));
    }
  };

  const done = loop().finally(() => Promise.all(devices.map((d) => d.close())));
  return {
    stop: async () => {
      stopped = true;
      wake();
      // Closing a board ends the boot it is in; its flash keeps what was written.
      await Promise.all(devices.map((d) => d.close()));
      await done;
    },
  };
}
