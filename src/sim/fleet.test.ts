import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeServer, deviceTracker, listenLoopback, scaled } from "../../testing/sim.ts";
import type { VirtualDevice } from "./device.ts";

const FLEET = 200;
const { device, closeAll } = deviceTracker();

describe("a fleet of virtual devices in one process", () => {
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    const id = (req.url ?? "").slice(1);
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(`hello ${id}`);
  });
  let port = 0;
  beforeAll(async () => {
    port = await listenLoopback(server);
  });
  afterAll(async () => {
    await closeAll();
    await closeServer(server);
  });

  it(
    `runs ${FLEET} devices at once, each fetching over HTTP and computing`,
    async () => {
      const main = `
import socket, machine
uid = machine.unique_id().hex()
s = socket.socket()
s.connect(socket.getaddrinfo("localhost", ${port})[0][-1])
s.sendall(b"GET /" + uid.encode() + b" HTTP/1.0\\r\\n\\r\\n")
body = s.read().split(b"\\r\\n\\r\\n", 1)[1].decode()
s.close()
n = int(uid, 16) % 1000
print(body, sum(range(n + 1)) == n * (n + 1) // 2)
`;
      const fleet: VirtualDevice[] = [];
      for (let i = 0; i < FLEET; i++) {
        fleet.push(
          device({ files: { "main.py": main }, uniqueId: (0x10000 + i).toString(16).padStart(12, "0") }),
        );
      }
      const results = await Promise.all(fleet.map((dev) => dev.run({ timeoutMs: scaled(50_000) })));
      results.forEach((r, i) => {
        const id = (0x10000 + i).toString(16).padStart(12, "0");
        expect(r.ok, `device ${i}: ${r.error}\n${r.output}`).toBe(true);
        expect(r.output).toBe(`hello ${id} True`);
        expect(r.netConnections).toBe(1);
      });
      expect(requests).toBe(FLEET);
    },
    scaled(120_000),
  ); // ~10 s on 2 idle cores; room for a busy CI machine
});
