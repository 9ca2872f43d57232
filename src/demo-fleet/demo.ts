/**
 * Demo mode of `mpota serve --demo`: beside a running server, the demo project with its releases
 * (setup.ts), a fleet of virtual boards waking every few seconds (fleet.ts), and a staged rollout
 * to the next release, told line by line (story.ts).
 */
import { resolve } from "node:path";
import { defaultDatabase } from "../server/index.ts";
import { demoAdminClient } from "./admin-token.ts";
import { DemoFiles } from "./files.ts";
import { type RunningFleet, startFleet } from "./fleet.ts";
import { FleetNarrator } from "./narrator.ts";
import { setupDemo } from "./setup.ts";

export interface DemoOptions {
  /** The server's URL, as the boards reach it. */
  url: string;
  /** The server's data folder (the demo keeps its files in DATA/demo/). */
  data: string;
  /** The server's database URL; default: the SQLite file DATA/mpota.db, as `mpota serve`. */
  db?: string;
  /** Virtual boards (default 5). */
  boards?: number;
  /** Seconds from one wake of a board to its next (default 5). */
  intervalSeconds?: number;
  /** Least seconds per rollout step (default 30). */
  stepWaitSeconds?: number;
  /** Rollout steps in percent of the boards (default 20, 50, 100). */
  steps?: number[];
  /** Boards awake at once (default 1: the machine stays usable). */
  concurrency?: number;
  /** One line per notable event. */
  say: (line: string) => void;
}

export interface RunningDemo {
  /** Where the demo keeps its key, tokens and release store. */
  dir: string;
  /** Settles once set up and the boards are waking (rejects when the setup failed). */
  ready: Promise<void>;
  /** Stops the boards (a setup under way finishes first). */
  stop(): Promise<void>;
}

export function startDemo(options: DemoOptions): RunningDemo {
  const data = resolve(options.data);
  const files = new DemoFiles(data);
  const say = options.say;
  const plan = { steps: options.steps ?? [20, 50, 100], stepWaitSeconds: options.stepWaitSeconds ?? 30 };
  let stopping = false;
  let fleet: RunningFleet | undefined;
  let rolloutStarted = false;

  const ready = (async () => {
    const client = await demoAdminClient(options.url, options.db ?? defaultDatabase(data), files);
    say(`sign in to the dashboard with the demo's admin token (kept in ${files.dir}/admin-token):`);
    say(`  ${files.adminToken()}`);
    const setup = await setupDemo({ client, files, boards: options.boards ?? 5, say });
    if (stopping) return;
    const ids = setup.boards.map((b) => b.id);
    const story = new FleetNarrator(client, setup.project, setup.channel, ids, say);
    const intervalMs = (options.intervalSeconds ?? 5) * 1000;
    fleet = startFleet({
      url: options.url,
      project: setup.project,
      channel: setup.channel,
      publicKey: setup.key.publicKeyHex,
      storeDir: files.storeDir,
      version: setup.current,
      boards: setup.boards,
      intervalMs,
      concurrency: options.concurrency ?? 1,
      onTrouble: (id, problem) => say(`${id}: ${problem}`),
      onRound: async () => {
        try {
          await story.look();
          // The story starts once every board was seen on the current release.
          if (setup.next && !rolloutStarted && story.everyBoardSeen) {
            rolloutStarted = true;
            await story.startRollout(setup.next, plan);
          }
        } catch (err) {
          say(`could not read the demo's state from the server: ${(err as Error).message}`);
        }
      },
    });
    say(
      `${ids.length} virtual boards (${ids[0]} … ${ids.at(-1)}) start on ${setup.current} and wake every ` +
        `${intervalMs / 1000} s: readings, then an update check`,
    );
    if (setup.rolloutId) await story.followRollout(setup.rolloutId);
  })();

  return {
    dir: files.dir,
    ready,
    stop: async () => {
      stopping = true;
      await ready.catch(() => {});
      await fleet?.stop();
    },
  };
}
