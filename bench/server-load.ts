/**
 * The load generator of `mpota bench server`, run in its own process so it does not share the
 * server's event loop: autocannon check-ins cycling through every device's token, each device
 * sending the ETag it holds (the steady state of a fleet: most answers are 304).
 * argv: URL PROJECT TOKENS_FILE ETAG SECONDS CONNECTIONS; prints one JSON line.
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const [url, project, tokensFile, etag, seconds, connections] = process.argv.slice(2);
const devices = JSON.parse(readFileSync(tokensFile!, "utf8")) as Array<[string, string]>;
let next = 0;

const result = await autocannon({
  url: url!,
  connections: Number(connections),
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
});
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [
        code,
        Number((s as { count: number }).count),
      ]),
    ),
  })}\n`,
);
