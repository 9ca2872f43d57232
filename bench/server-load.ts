/**
 * The load generator of `mpota bench server`, run in its own process so it does not share the
 * server's event loop: autocannon check-ins cycling through every device's token, each device
 * sending the ETag it holds (the steady state of a fleet: most answers are 304). Several URLs (comma
 * separated: nodes behind a round-robin balancer) share the connections evenly; the p50/p99 printed
 * are those of the slowest node.
 * argv: URL[,URL…] PROJECT TOKENS_FILE ETAG SECONDS CONNECTIONS; prints one JSON line (with the CPU
 * this process used, in cores).
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const [urls, project, tokensFile, etag, seconds, connections] = process.argv.slice(2);
const devices = JSON.parse(readFileSync(tokensFile!, "utf8")) as Array<[string, string]>;
let next = 0;
const targets = urls!.split(",");

const started = performance.now();
const cpuBefore = process.cpuUsage();
const results = await Promise.all(
  targets.map((url) =>
    autocannon({
      url,
      connections: Math.max(1, Math.round(Number(connections) / targets.length)),
      duration: Number(seconds),
      requests: [
        {
          method: "GET",
          setupRequest: (request: Record<string, unknown>) => {
            const [id, token] = devices[next++ % devices.length]!;
            return {
              ...request,
              path: `/d/${project}/channels/stable.json?version=1.0.0&state=good`,
              headers: { authorization: `Bearer ${token}`, "x-mpota-device": id, "if-none-match": etag },
            };
          },
        },
      ],
    }),
  ),
);
const cpu = process.cpuUsage(cpuBefore);
const clientCores = (cpu.user + cpu.system) / 1000 / (performance.now() - started);
const statusCodes: Record<string, number> = {};
for (const result of results)
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = (statusCodes[code] ?? 0) + Number((s as { count: number }).count);
const sum = (f: (r: (typeof results)[number]) => number) => results.reduce((n, r) => n + f(r), 0);
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: sum((r) => r.requests.average),
    total: sum((r) => r.requests.total),
    p50Ms: Math.max(...results.map((r) => r.latency.p50)),
    p99Ms: Math.max(...results.map((r) => r.latency.p99)),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodes,
    clientCores,
  })}\n`,
);
