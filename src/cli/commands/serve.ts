import { type Command, InvalidArgumentError } from "commander";
import { CliError } from "../errors.ts";

interface ServeCliOptions {
  port: number;
  host: string;
  db?: string;
  data: string;
  checkinInterval?: number;
  maxConcurrent?: number;
  log?: boolean;
  json?: boolean;
}

function wholeNumber(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number 0…${max}`);
    return n;
  };
}

/** `mpota serve`: the update server (SQLite under --data by default, PostgreSQL with --db postgres://…). */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the update server: device API, admin API, status page at /")
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
    .option("--log", "log every request (JSON lines on stdout)")
    .option("--json", "print one JSON line {url, db, adminToken?} once listening")
    .action(async (opts: ServeCliOptions) => {
      const { serve } = await import("../../server/serve.ts");
      const limits = {
        ...(opts.checkinInterval !== undefined ? { checkinIntervalMs: opts.checkinInterval * 1000 } : {}),
        ...(opts.maxConcurrent !== undefined ? { maxConcurrent: opts.maxConcurrent } : {}),
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
        });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === "EADDRINUSE")
          throw new CliError(`port ${opts.port} on ${opts.host} is in use; pick another with --port`);
        throw new CliError(`cannot start the server: ${e.message}`);
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
              `use it with --token or MPOTA_TOKEN, e.g. mpota project add NAME --server ${running.url} --token …\n`,
          );
      }
      await new Promise<void>((done) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void running.close().finally(done);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}
