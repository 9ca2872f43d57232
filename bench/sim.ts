/**
 * Virtual device figures: interpreter start (worker + fresh interpreter for a trivial run), socket
 * download throughput through the device's `socket` shim (MiB/s, timed on the device around its
 * recv_into loop), and memory per device in a 200-device fleet, next to what an idle Node worker
 * thread costs on its own (the floor of the one-worker-per-device design).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import { VirtualDevice } from "../src/sim/index.ts";
import type { Benchmark } from "./index.ts";

const START_SAMPLES = 11;
const DOWNLOAD_BYTES = 16 * 1024 * 1024;
const FLEET_DEVICES = 200;
const MiB = 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** Serves DOWNLOAD_BYTES of a fixed pattern to every GET. */
async function downloadServer(): Promise<{ server: Server; port: number }> {
  const body = Buffer.alloc(DOWNLOAD_BYTES, "mpota-bench-");
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-length": String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Device script: GET, skip headers, recv_into a `chunk`-sized buffer until EOF; prints bytes and ms. */
function downloadScript(port: number, chunk: number): string {
  return `
import socket, time
s = socket.socket()
s.connect(socket.getaddrinfo("127.0.0.1", ${port})[0][-1])
s.sendall(b"GET / HTTP/1.0\\r\\nHost: bench\\r\\n\\r\\n")
while s.readline() not in (b"\\r\\n", b""):
    pass
buf = memoryview(bytearray(${chunk}))
total = 0
t0 = time.ticks_ms()
while True:
    n = s.recv_into(buf)
    if not n:
        break
    total += n
print(total, time.ticks_diff(time.ticks_ms(), t0))
s.close()
`;
}

async function startTimes(progress: (m: string) => void): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < START_SAMPLES; i++) {
    const dev = new VirtualDevice();
    const t0 = performance.now();
    const r = await dev.run({ boot: false, script: "x = 1" });
    times.push(performance.now() - t0);
    await dev.close();
    if (!r.ok) throw new Error(`trivial run failed: ${r.error}`);
  }
  progress(`start: ${times.map((t) => t.toFixed(0)).join(" ")} ms`);
  return times;
}

async function throughput(port: number, chunk: number, progress: (m: string) => void): Promise<number> {
  const dev = new VirtualDevice();
  try {
    const r = await dev.run({ boot: false, script: downloadScript(port, chunk) });
    if (!r.ok) throw new Error(`download with ${chunk} B buffers failed: ${r.error}`);
    const [bytes, ms] = r.output.trim().split(/\s+/).map(Number) as [number, number];
    if (bytes !== DOWNLOAD_BYTES) throw new Error(`downloaded ${bytes} bytes, expected ${DOWNLOAD_BYTES}`);
    const mbps = bytes / MiB / (Math.max(ms, 1) / 1000);
    progress(`download ${bytes} B with ${chunk} B buffers: ${ms} ms (${mbps.toFixed(1)} MiB/s)`);
    return mbps;
  } finally {
    await dev.close();
  }
}

async function fleetMemory(progress: (m: string) => void): Promise<{ rssPerDeviceMiB: number; ms: number }> {
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const fleet = Array.from(
    { length: FLEET_DEVICES },
    (_, i) => new VirtualDevice({ uniqueId: i.toString(16) }),
  );
  try {
    const results = await Promise.all(fleet.map((dev) => dev.run({ boot: false, script: "x = 6 * 7" })));
    const failed = results.filter((r) => !r.ok).length;
    if (failed > 0) throw new Error(`${failed} of ${FLEET_DEVICES} fleet devices failed`);
    const ms = performance.now() - t0;
    const grown = process.memoryUsage().rss - rssBefore;
    progress(`fleet of ${FLEET_DEVICES}: ${ms.toFixed(0)} ms, RSS +${(grown / MiB).toFixed(0)} MiB`);
    return { rssPerDeviceMiB: grown / MiB / FLEET_DEVICES, ms };
  } finally {
    await Promise.all(fleet.map((dev) => dev.close()));
  }
}

/** RSS growth per idle worker thread (nothing loaded in it). */
async function workerBaselineMiB(): Promise<number> {
  const count = 20;
  const rssBefore = process.memoryUsage().rss;
  const idle = "require('node:worker_threads').parentPort.postMessage(0); setInterval(() => {}, 1000);";
  const workers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Worker>((resolve) => {
          const worker = new Worker(idle, { eval: true });
          worker.once("message", () => resolve(worker));
        }),
    ),
  );
  const grown = process.memoryUsage().rss - rssBefore;
  await Promise.all(workers.map((w) => w.terminate()));
  return grown / MiB / count;
}

const simBenchmark: Benchmark = async ({ progress }) => {
  const starts = await startTimes(progress);
  const { server, port } = await downloadServer();
  let mbps1K: number;
  let mbps4K: number;
  try {
    mbps1K = await throughput(port, 1024, progress);
    mbps4K = await throughput(port, 4096, progress);
  } finally {
    server.close();
  }
  const fleet = await fleetMemory(progress);
  const idleWorker = await workerBaselineMiB();
  return {
    startMs: round(median(starts.slice(1))),
    firstStartMs: round(starts[0]!),
    throughputMBps1K: round(mbps1K),
    throughputMBps4K: round(mbps4K),
    fleetDevices: FLEET_DEVICES,
    fleetStartMs: round(fleet.ms, 0),
    rssPerDeviceMiB: round(fleet.rssPerDeviceMiB, 2),
    idleWorkerRssMiB: round(idleWorker, 2),
  };
};

export default simBenchmark;
