/**
 * The load generator of `mpota bench server`, run in its own process so it does not share the
 * server's event loop: keep-alive connections each sending one check-in after the other, cycling
 * through every device's token, each device sending the ETag it holds (the steady state of a fleet:
 * most answers are 304). Several URLs (comma separated: nodes behind a round-robin balancer) share
 * the connections evenly; the p50/p99 printed are those of the slowest node.
 *
 * Plain sockets and prebuilt request text rather than autocannon: on a 2-core machine the load
 * generator takes CPU from the server it measures, and autocannon spent about 0.6 of what the server
 * spent per check-in (several instances in one process, for several nodes, more).
 * argv: URL[,URL…] PROJECT TOKENS_FILE ETAG SECONDS CONNECTIONS; prints one JSON line (with the CPU
 * this process used, in cores).
 */
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";

const [urls, project, tokensFile, etag, seconds, connections] = process.argv.slice(2);
const devices = JSON.parse(readFileSync(tokensFile!, "utf8")) as Array<[string, string]>;
const targets = urls!.split(",").map((url) => new URL(url));
let next = 0;

const statusCodes: Record<string, number> = {};
let errors = 0;
let total = 0;
let answered = 0; // 200 or 304: check-ins served

function nextRequest(host: string): string {
  const [id, token] = devices[next++ % devices.length]!;
  return (
    `GET /d/${project}/channels/stable.json?version=1.0.0&state=good HTTP/1.1\r\nHost: ${host}\r\n` +
    `Authorization: Bearer ${token}\r\nX-Mpota-Device: ${id}\r\nIf-None-Match: ${etag}\r\n\r\n`
  );
}

/**
 * One connection until `until`: a request, its whole answer (status line, headers, a
 * Content-Length body), the next request. Resolves when it is closed.
 */
function drive(target: URL, latencies: number[], until: number): Promise<void> {
  return new Promise((done) => {
    const socket: Socket = connect(Number(target.port), target.hostname);
    socket.setNoDelay(true);
    let pending = "";
    let sent = 0;
    const send = () => {
      if (performance.now() >= until) return void socket.end();
      sent = performance.now();
      socket.write(nextRequest(target.host));
    };
    socket.setEncoding("latin1");
    socket.on("connect", send);
    socket.on("data", (chunk: string) => {
      pending += chunk;
      for (;;) {
        const headEnd = pending.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const head = pending.slice(0, headEnd);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < headEnd + 4 + length) return;
        pending = pending.slice(headEnd + 4 + length);
        const status = head.slice(9, 12);
        statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        if (status === "200" || status === "304") answered++;
        latencies.push(performance.now() - sent);
        total++;
        send();
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      // the server hung up before the run's end: that connection's load is lost
      if (performance.now() < until) errors++;
      done();
    });
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!) : 0;

const started = performance.now();
const cpuBefore = process.cpuUsage();
const until = started + Number(seconds) * 1000;
const perTarget = Math.max(1, Math.round(Number(connections) / targets.length));
const latencies = targets.map(() => [] as number[]);
await Promise.all(
  targets.flatMap((target, t) =>
    Array.from({ length: perTarget }, () => drive(target, latencies[t]!, until)),
  ),
);
const elapsed = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const sorted = latencies.map((l) => l.sort((a, b) => a - b));
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: (total * 1000) / elapsed,
    answeredPerSecond: (answered * 1000) / elapsed,
    total,
    p50Ms: Math.max(...sorted.map((l) => percentile(l, 0.5))),
    p99Ms: Math.max(...sorted.map((l) => percentile(l, 0.99))),
    errors,
    timeouts: 0,
    statusCodes,
    clientCores: (cpu.user + cpu.system) / 1000 / elapsed,
  })}\n`,
);
