/**
 * What `mpota bench server` and `--nodes N` share: the load generator in its own process
 * (server-load.ts), a node's warm-up wait, and the CPU a process used (to tell whether a run measured
 * the server or the load generator: on 2 cores they compete for the same CPU).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { promisify } from "node:util";

const LOAD = resolve(import.meta.dirname, "server-load.ts");

export interface Load {
  requestsPerSecond: number;
  /** Check-ins the server answered (200 or 304): a 429 or 503 is no check-in served. */
  answeredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** CPU the load generator used, in cores (1: one core busy all the run). */
  clientCores: number;
}

/** Check-ins against `urls` (round robin) from every device in `tokensFile` in turn, each sending `etag`. */
export async function runLoad(
  urls: string[],
  tokensFile: string,
  etag: string,
  seconds: number,
  connections: number,
): Promise<Load> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      LOAD,
      urls.join(","),
      "bench",
      tokensFile,
      etag,
      String(seconds),
      String(connections),
    ],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as Load;
}

/** A run's figures as the bench prints them; `serverCores`: CPU the server process(es) used meanwhile. */
export function figures(load: Load, serverCores: number) {
  return {
    checkinsPerSecond: Math.round(load.answeredPerSecond),
    requestsPerSecond: Math.round(load.requestsPerSecond),
    // what one core of the server's own serves: on a shared machine a figure less of the load
    checkinsPerServerCoreSecond: Math.round(load.answeredPerSecond / serverCores),
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    statusCodes: load.statusCodes,
    errors: load.errors + load.timeouts,
    cores: { server: round2(serverCores), loadGenerator: round2(load.clientCores) },
    loadAverage: round2(loadavg()[0]!),
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** CPU seconds process `pid` has used so far (Linux /proc; undefined elsewhere). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    // fields after the command name (which may hold spaces): utime and stime are the 12th and 13th
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Resident memory of process `pid` in MB (Linux /proc; undefined elsewhere). */
export function rssMb(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
    return line ? Math.round(Number(line[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until the node at `url` has read the fleet into its check-in cache; resolves with the time taken. */
export async function waitWarm(url: string, started = performance.now()): Promise<number> {
  for (;;) {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { warm: boolean };
    if (health.warm) return performance.now() - started;
    if (performance.now() - started > 300_000) throw new Error(`${url} did not warm up in 300 s`);
    await new Promise((done) => setTimeout(done, 50));
  }
}
