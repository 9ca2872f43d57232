/**
 * The benchmarks behind `mpota bench NAME --json`. Each returns a JSON-serialisable object of figures;
 * a benchmark module is imported only when it runs.
 */
export type Benchmark = (options: {
  progress: (message: string) => void;
  /** A MicroPython unix-port binary (`--micropython PATH`), for benchmarks on a real interpreter. */
  micropython?: string;
  /** Server processes (`mpota bench server --nodes N`); 1 when not given. */
  nodes: number;
  /** Only these of the benchmark's scenarios (`--scenario a,b`), for those that have several. */
  scenarios?: string[];
}) => Promise<Record<string, unknown>>;

export const benchmarks: Record<string, { describe: string; load: () => Promise<Benchmark> }> = {
  sim: {
    describe: "virtual device: interpreter start time, socket throughput, RSS per device in a fleet",
    load: async () => (await import("./sim.ts")).default,
  },
  powercut: {
    describe:
      "device client: power cut at every flash operation of an update, confirm, rollback and recovery",
    load: async () => (await import("./powercut.ts")).default,
  },
  update: {
    describe:
      "device client: requests, bytes, flash writes and heap of a no-update check and an update; verify time",
    load: async () => (await import("./update.ts")).default,
  },
  delta: {
    describe:
      "delta patches: bytes downloaded vs zlib per release (.py and .mpy) over device/ history and a generated corpus; device heap to apply",
    load: async () => (await import("./delta.ts")).default,
  },
  sources: {
    describe:
      "git and micropython_ota sources: requests and bytes of a no-update check and an update (GitHub, Gitea, Gogs, micropython_ota)",
    load: async () => (await import("./sources.ts")).default,
  },
  wire: {
    describe:
      "every byte a board moves to update through a series of releases (static site and mpota serve, .py and .mpy), vs gzip -9 of the changed files and zstd --patch-from",
    load: async () => (await import("./wire.ts")).default,
  },
  dashboard: {
    describe:
      "dashboard: p95 server time of a device list page, a filtered search and the fleet overview with 100,000 devices (SQLite); fleet page first paint in Chromium",
    load: async () => (await import("./dashboard.ts")).default,
  },
  heap: {
    describe:
      "device client on a real 32-bit MicroPython (--micropython PATH, the unix port): smallest heap for an update (5-100 KB file, patched and whole), a no-update check, confirm, rollback",
    load: async () => (await import("./heap.ts")).default,
  },
  server: {
    describe:
      "update server: check-ins/s and p50/p99 with 100,000 devices (SQLite, PostgreSQL), 1,000-file publish time; with --nodes N: N processes on one PostgreSQL, 1,000,000 devices, revocation and step-change times",
    load: async () => (await import("./server.ts")).default,
  },
};
