/**
 * Overload on a real loopback server: device requests in flight are counted until their response
 * closes, whatever ends it (an answer, or a client that hangs up mid-body), and /healthz says when the
 * device API is refusing work.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { testDialects } from "../../testing/db.ts";
import { startTestServer, type TestServer } from "../../testing/server.ts";

describe.each(testDialects)("device overload on loopback (%s)", (dialect) => {
  let s: TestServer | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await s?.close();
    s = undefined;
  });

  /** A report whose body never finishes arriving: the request stays in flight until the socket goes. */
  async function halfSentReport(port: number): Promise<Socket> {
    const socket = connect(port, "127.0.0.1");
    sockets.push(socket);
    socket.on("error", () => {});
    await new Promise((done) => socket.once("connect", done));
    socket.write(
      "POST /d/p/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        'Content-Length: 4096\r\nAuthorization: Bearer mpd_x\r\nX-Mpota-Device: d\r\n\r\n{"version":',
    );
    return socket;
  }

  it("frees the slots of aborted requests, and /healthz tells when the device API is full", async () => {
    s = await startTestServer(dialect, { limits: { maxConcurrent: 4 } });
    await s.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = s.app.server.address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const checkIn = () => fetch(`${base}/d/p/channels/stable.json`).then((res) => res.status);

    for (let round = 0; round < 3; round++) {
      const held = await Promise.all([1, 2, 3, 4].map(() => halfSentReport(port)));
      await vi.waitFor(async () => expect(await checkIn()).toBe(503), { timeout: 20_000 });
      const busy = await fetch(`${base}/healthz`);
      expect(busy.status).toBe(503);
      expect(await busy.json()).toMatchObject({ ok: false, deviceRequests: 4, maxConcurrent: 4 });
      for (const socket of held) socket.destroy();
      // every slot comes back: the next device request is answered (401: no token), not refused
      await vi.waitFor(async () => expect(await checkIn()).toBe(401), { timeout: 20_000 });
    }
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      ok: true,
      deviceRequests: 0,
      maxConcurrent: 4,
      cachedDevices: 0,
      warm: true,
    });
  });
});
