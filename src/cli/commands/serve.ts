import type { Command } from "commander";
import { CliError, fileSystemError } from "../errors.ts";
import { wholeNumber } from "../options.ts";

interface ServeCliOptions {
  port: number;
  host: string;
  db?: string;
  data: string;
  checkinInterval?: number;
  maxConcurrent?: number;
  reportsPerMinute?: number;
  enrolmentsPerMinute?: number;
  maxPendingDevices?: number;
  authFailuresPerMinute?: number;
  log?: boolean;
  json?: boolean;
  flushInterval?: number;
  demo?: boolean;
  demoDevices?: number;
  demoInterval?: number;
  demoStepWait?: number;
}

/** Options that are server limits under the same name. */
const COUNT_LIMITS = [
  "maxConcurrent",
  "reportsPerMinute",
  "enrolmentsPerMinute",
  "maxPendingDevices",
  "authFailuresPerMinute",
] as const;
const DEMO_OPTIONS = ["demoDevices", "demoInterval", "demoStepWait"] as const;

const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** `mpota serve`: the update server (SQLite under --data by default, PostgreSQL with --db postgres://…). */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the update server: device API, admin API, dashboard at /")
    .option("--port <n>", "TCP port (0: any free port)", wholeNumber("--port", 65535), 8080)
    .option("--host <addr>", "address to listen on (0.0.0.0 for boards on the network)", "127.0.0.1")
    .option("--db <url>", "postgres://user:pass@host/db, or a SQLite file (default: DATA/mpota.db)")
    .option("--data <dir>", "folder for blobs, patches, envelopes and the default database", "./data")
    .option(
      "--checkin-interval <s>",
      "least seconds between two check-ins of a device (429 before)",
      wholeNumber("--checkin-interval", 86_400),
    )
    .option(
      "--max-concurrent <n>",
      "device requests in flight before 503",
      wholeNumber("--max-concurrent", 1_000_000),
    )
    .option(
      "--reports-per-minute <n>",
      "reports one device may send per minute, 429 past it (0: no limit; default 30)",
      wholeNumber("--reports-per-minute", 1_000_000),
    )
    .option(
      "--enrolments-per-minute <n>",
      "enrolments per project and minute, 429 past it (0: no limit; default 60)",
      wholeNumber("--enrolments-per-minute", 1_000_000),
    )
    .option(
      "--max-pending-devices <n>",
      "devices of a project waiting for approval before enrolment gets 429 (0: no limit; default 1000)",
      wholeNumber("--max-pending-devices", 10_000_000),
    )
    .option(
      "--auth-failures-per-minute <n>",
      "wrong device or enrolment tokens per client address and minute before 429 (0: no limit; default 30)",
      wholeNumber("--auth-failures-per-minute", 1_000_000),
    )
    .option(
      "--flush-interval <ms>",
      "how often check-ins are written to the database (a SIGKILL loses at most this much; default 1000)",
      wholeNumber("--flush-interval", 60_000, 10),
    )
    .option("--log", "log every request (JSON lines on stdout)")
    .option("--json", "print one JSON line {url, db, adminToken?} once listening")
    .option("--demo", "also run a demo: project greenhouse, virtual boards checking in, a staged rollout")
    .option(
      "--demo-devices <n>",
      "virtual boards of the demo (default: 5)",
      wholeNumber("--demo-devices", 50, 1),
    )
    .option(
      "--demo-interval <s>",
      "seconds between two wakes of a demo board (default: 5)",
      wholeNumber("--demo-interval", 3600, 1),
    )
    .option(
      "--demo-step-wait <s>",
      "least seconds per step of the demo's rollout (default: 30)",
      wholeNumber("--demo-step-wait", 86_400),
    )
    .action(async (opts: ServeCliOptions) => {
      const misplaced = DEMO_OPTIONS.find((name) => opts[name] !== undefined);
      if (!opts.demo && misplaced) throw new CliError(`${flag(misplaced)} goes with --demo`);
      if (opts.demo && opts.json) throw new CliError("--demo talks in plain lines; leave out --json");
      if (opts.db !== undefined) {
        const { databaseUrlProblem } = await import("../../db/index.ts");
        const problem = databaseUrlProblem(opts.db);
        if (problem) throw new CliError(`--db ${problem}`);
      }
      const { serve } = await import("../../server/serve.ts");
      // The demo's boards sleep on a virtual clock (their minutes take no real time), so a real-time
      // floor between check-ins would only refuse them: off in demo mode unless asked for.
      const checkinInterval = opts.checkinInterval ?? (opts.demo ? 0 : undefined);
      const limits = {
        ...(checkinInterval !== undefined ? { checkinIntervalMs: checkinInterval * 1000 } : {}),
        ...Object.fromEntries(
          COUNT_LIMITS.filter((name) => opts[name] !== undefined).map((n) => [n, opts[n]]),
        ),
      };
      let running: Awaited<ReturnType<typeof serve>>;
      try {
        running = await serve({
          port: opts.port,
          host: opts.host,
          db: opts.db,
          data: opts.data,
          limits,
          logger: !!opts.log,
          flushIntervalMs: opts.flushInterval,
        });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === "EADDRINUSE")
          throw new CliError(`port ${opts.port} on ${opts.host} is in use; pick another with --port`);
        throw fileSystemError(err) ?? new CliError(`cannot start the server: ${e.message}`);
      }
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ url: running.url, db: running.db, adminToken: running.adminToken })}\n`,
        );
      } else {
        process.stdout.write(`mpota server on ${running.url} (database ${running.db})\n`);
        if (running.adminToken)
          process.stdout.write(
            `admin token (shown once, keep it safe):\n  ${running.adminToken}\n` +
              `use it with --token or MPOTA_TOKEN, e.g. npx mpota project add NAME --server ${running.url} --token …\n`,
          );
      }
      const demo = opts.demo ? await startDemoMode(opts, running.url) : undefined;
      let failed: unknown;
      await new Promise<void>((done) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void (async () => {
            await demo?.stop();
            await running.close();
          })().finally(done);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
        demo?.ready.catch((err: unknown) => {
          failed = err;
          stop();
        });
      });
      if (failed) throw new CliError(`the demo could not start: ${(failed as Error).message}`, 1);
    });
}

/** Starts the demo fleet beside the running server and says what it is about. */
async function startDemoMode(opts: ServeCliOptions, url: string) {
  const { resolve } = await import("node:path");
  const { startDemo } = await import("../../demo-fleet/index.ts");
  const time = () => new Date().toTimeString().slice(0, 8);
  let stopping = false;
  const demo = startDemo({
    url,
    data: opts.data,
    db: opts.db,
    boards: opts.demoDevices,
    intervalSeconds: opts.demoInterval,
    stepWaitSeconds: opts.demoStepWait,
    // Quiet once stopping: "stopping…" is the last line, whatever step was under way.
    say: (line) => {
      if (!stopping) process.stdout.write(`${time()} demo: ${line}\n`);
    },
  });
  process.stdout.write(
    `data in ${resolve(opts.data)} (the demo's key, tokens and releases in ${demo.dir})\n` +
      `dashboard: ${url}/ (watch the boards move to the new release, live)\n` +
      "Ctrl-C stops the demo fleet and the server.\n",
  );
  return {
    ready: demo.ready,
    stop: () => {
      stopping = true;
      process.stdout.write("stopping the demo fleet and the server…\n");
      return demo.stop();
    },
  };
}
