/**
 * Admin authentication comes before the body: on a real loopback server, a request without a valid
 * admin token is answered from its headers alone, and the connection is closed instead of reading
 * what the client still sends.
 */
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { testDialects } from "../../testing/db.ts";
import { startTestServer, type TestServer } from "../../testing/server.ts";

const EIGHT_MIB = 8 * 1024 * 1024;

/**
 * Sends the headers of a request announcing `length` body bytes and only `sent` of them; resolves
 * with what the server answered and whether it closed the connection, without sending the rest.
 */
async function headersOnly(
  port: number,
  head: string,
  length: number,
  sent: string,
): Promise<{ response: string; closed: boolean }> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  let response = "";
  socket.on("data", (chunk) => {
    response += chunk.toString("latin1");
  });
  const closed = new Promise<boolean>((done) => socket.once("close", () => done(true)));
  socket.write(`${head}Content-Length: ${length}\r\n\r\n${sent}`);
  const outcome = await Promise.race([
    closed,
    new Promise<boolean>((done) => setTimeout(() => done(false), 15_000).unref()),
  ]);
  socket.destroy();
  return { response, closed: outcome };
}

describe.each(testDialects)("admin auth before the body (%s)", (dialect) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it("refuses an unauthenticated 8 MiB upload from its headers, without reading the body", async () => {
    s = await startTestServer(dialect);
    await s.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = s.app.server.address() as { port: number };
    const post = (auth: string) =>
      "POST /api/v1/projects/p/releases HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
      `Content-Type: application/json\r\n${auth}`;

    const none = await headersOnly(port, post(""), EIGHT_MIB, '{"signed":');
    expect(none.closed).toBe(true);
    expect(none.response).toMatch(/^HTTP\/1\.1 401 /);
    expect(none.response).toContain("missing admin token");

    const wrong = await headersOnly(port, post("Authorization: Bearer mpa_wrong\r\n"), EIGHT_MIB, "{");
    expect(wrong.closed).toBe(true);
    expect(wrong.response).toMatch(/^HTTP\/1\.1 401 /);

    const viewer = await s.app.inject({
      method: "POST",
      url: "/api/v1/tokens",
      headers: { authorization: `Bearer ${s.adminToken}` },
      payload: { name: "viewer", role: "read-only" },
    });
    const readOnly = await headersOnly(
      port,
      post(`Authorization: Bearer ${viewer.json().token}\r\n`),
      EIGHT_MIB,
      "{",
    );
    expect(readOnly.closed).toBe(true);
    expect(readOnly.response).toMatch(/^HTTP\/1\.1 403 /);

    // a good token's upload is read and checked as before
    const good = await s.app.inject({
      method: "POST",
      url: "/api/v1/projects/p/releases",
      headers: { authorization: `Bearer ${s.adminToken}` },
      payload: { signed: {}, signatures: [] },
    });
    expect(good.statusCode).toBe(404);
  });
});
