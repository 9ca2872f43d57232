/**
 * The device's HTTP client (device/mpota/http.py) on the virtual device against a loopback server that
 * misbehaves on purpose (fault-proxy.ts): every fault ends in the right bytes on flash or a clear error.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { devicePackage } from "../../testing/board.ts";
import { type FaultServer, startFaultServer } from "../../testing/fault-proxy.ts";
import { type FlashOptions, VirtualDevice } from "../sim/index.ts";

const root = mkdtempSync(join(tmpdir(), "mpota-http-"));
const blob = randomBytes(10_000);
const blobSha = createHash("sha256").update(blob).digest("hex");
let server: FaultServer;
let other: FaultServer;

beforeAll(async () => {
  mkdirSync(join(root, "p"), { recursive: true });
  writeFileSync(join(root, "p", "blob.bin"), blob);
  writeFileSync(join(root, "p", "small.json"), '{"hello":"world"}\n');
  server = await startFaultServer({ root });
  other = await startFaultServer({ root });
});

beforeEach(() => {
  server.rules.length = 0;
  server.requests.length = 0;
  other.rules.length = 0;
  other.requests.length = 0;
});

afterAll(async () => {
  await server.close();
  await other.close();
  rmSync(root, { recursive: true, force: true });
});

const PRELUDE = `
import json, time, hashlib, binascii, os
from mpota import downloads, http
from mpota.errors import UpdateError
http.configure(1, 3, None)

def attempt(fn, *args):
    t = time.ticks_ms()
    try:
        value = fn(*args)
    except UpdateError as e:
        value = {"error": e.code, "message": e.message}
    return value, time.ticks_diff(time.ticks_ms(), t)

def get(url, **kw):
    value, ms = attempt(http.get_small, url, kw.get("headers"), kw.get("max_bytes", 4096), kw.get("etag"))
    if isinstance(value, tuple):
        value = {"status": value[0], "etag": value[1], "body": value[2].decode()}
    print("result", json.dumps({"value": value, "ms": ms}))

def fetch(url, max_bytes):
    try:
        os.remove("/d.bin")
    except OSError:
        pass
    h = hashlib.sha256()
    value, ms = attempt(downloads.download, url, "/d.bin", max_bytes, h)
    if not isinstance(value, dict):
        value = {"n": value, "size": os.stat("/d.bin")[6], "sha256": binascii.hexlify(h.digest()).decode()}
    print("result", json.dumps({"value": value, "ms": ms}))
`;

interface Result {
  // biome-ignore lint/suspicious/noExplicitAny: device output, checked field by field
  value: any;
  ms: number;
}

/** Runs the calls on a fresh virtual device; -> one result per call, and the run's figures. */
async function device(calls: string, flash?: FlashOptions) {
  const dev = new VirtualDevice({
    files: devicePackage(),
    hosts: { "ota.example": "127.0.0.1", "cdn.example": "127.0.0.1" },
    flash,
  });
  try {
    const run = await dev.run({ script: PRELUDE + calls, boot: false, timeoutMs: 60_000 });
    if (!run.ok) throw new Error(`device script failed: ${run.error}\n${run.output}`);
    const results: Result[] = run.output
      .split("\n")
      .filter((l) => l.startsWith("result "))
      .map((l) => JSON.parse(l.slice(7)));
    return { results, run };
  } finally {
    await dev.close();
  }
}

const whole = { n: blob.length, size: blob.length, sha256: blobSha };

describe("http.get_small", () => {
  it("fetches a small document with its ETag, then gets 304 for it; one connection each", async () => {
    const url = `http://ota.example:${server.port}/p/small.json`;
    const { results, run } = await device(`
get("${url}")
r = http.get_small("${url}")
get("${url}", etag=r[1])
`);
    expect(results[0]!.value).toMatchObject({ status: 200, body: '{"hello":"world"}\n' });
    expect(results[0]!.value.etag).toMatch(/^"[0-9a-f]{16}"$/);
    expect(results[1]!.value).toEqual({ status: 304, etag: results[0]!.value.etag, body: "" });
    expect(run.netConnections).toBe(3);
    // HTTP/1.0: the server closes the connection after its answer, without a Connection header to send.
    expect(server.requests[0]!.headers).toEqual({ host: `ota.example:${server.port}` });
    expect(server.requests[2]!.headers["if-none-match"]).toBe(results[0]!.value.etag);
  });

  it("refuses huge headers, an endless body and a body over its cap", async () => {
    server.rules.push(
      { path: "/p/small.json", fault: { kind: "hugeHeaders", bytes: 20_000 } },
      { path: "/p/endless", fault: { kind: "endless" } },
    );
    const { results, run } = await device(`
get("http://127.0.0.1:${server.port}/p/small.json")
get("http://127.0.0.1:${server.port}/p/endless")
get("http://127.0.0.1:${server.port}/p/blob.bin")
`);
    expect(results.map((r) => r.value)).toEqual([
      { error: "http", message: "the response headers are larger than 8192 bytes" },
      { error: "size", message: "the body is larger than the 4096 bytes expected" },
      { error: "size", message: "the server sends 10000 bytes where at most 4096 are expected" },
    ]);
    // Refused, not retried: a hostile server gets one try each.
    expect(server.requests).toHaveLength(3);
    // The endless body stopped when the device hung up (what the host's socket had buffered by then).
    expect(run.netBytesIn).toBeLessThan(8 << 20);
  });

  it("honours Retry-After on 503 and 429, and gives up on a wait longer than 5 minutes", async () => {
    server.rules.push(
      { path: "/p/small.json", fault: { kind: "status", status: 503, retryAfter: 7 } },
      { path: "/p/small.json", fault: { kind: "status", status: 429, retryAfter: 5 } },
      { path: "/p/other", fault: { kind: "status", status: 503, retryAfter: 3600 } },
    );
    const { results } = await device(`
get("http://127.0.0.1:${server.port}/p/small.json")
get("http://127.0.0.1:${server.port}/p/other")
`);
    expect(results[0]!.value).toMatchObject({ status: 200 });
    expect(results[0]!.ms).toBeGreaterThanOrEqual(12_000); // 7 s + 5 s on the device's clock
    expect(results[1]!.value).toEqual({
      error: "busy",
      message: "HTTP 503: the server asks to come back in 3600 s",
    });
    expect(server.requests.map((r) => r.status)).toEqual([503, 429, 200, 503]);
  });

  it("retries 500s with growing backoff, then reports the failure", async () => {
    server.rules.push({ path: "/p/small.json", fault: { kind: "status", status: 500 }, times: 10 });
    const { results } = await device(`get("http://127.0.0.1:${server.port}/p/small.json")`);
    expect(results[0]!.value).toEqual({
      error: "network",
      message: `http://127.0.0.1:${server.port}/p/small.json: HTTP 500 (4 attempts)`,
    });
    // Backoff 1 s, 2 s, 4 s, each less a random 0..50 %: 3.5 s to 7 s.
    expect(results[0]!.ms).toBeGreaterThanOrEqual(3500);
    expect(results[0]!.ms).toBeLessThan(8000);
    expect(server.requests).toHaveLength(4);
  });

  it("follows redirects to another host, refuses a loop", async () => {
    server.rules.push(
      { path: "/p/moved", fault: { kind: "redirect", to: `http://cdn.example:${other.port}/p/small.json` } },
      { path: "/p/loop", fault: { kind: "redirect", to: "/p/loop2" } },
      { path: "/p/loop2", fault: { kind: "redirect", to: "/p/loop" } },
      { path: "/p/far", fault: { kind: "redirect", to: "/p/far" }, times: 100 },
    );
    const { results } = await device(`
get("http://127.0.0.1:${server.port}/p/moved", headers={"Authorization": "Bearer s3cret"})
get("http://127.0.0.1:${server.port}/p/loop")
`);
    expect(results[0]!.value).toMatchObject({ status: 200, body: '{"hello":"world"}\n' });
    expect(other.requests.map((r) => r.headers.host)).toEqual([`cdn.example:${other.port}`]);
    // The token went to the host it was meant for, not to the one redirected to.
    expect(server.requests[0]!.headers.authorization).toBe("Bearer s3cret");
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
    expect(results[1]!.value).toEqual({
      error: "redirect",
      message: `http://127.0.0.1:${server.port}/p/loop: redirect loop or more than 5 redirects`,
    });
  });

  it("refuses URLs it cannot fetch and header values that would inject lines", async () => {
    const { results } = await device(`
get("ftp://x/y")
get("http://user@host/y")
get("http://127.0.0.1:${server.port}/p/small.json", headers={"X-Token": "a\\r\\nX-Evil: 1"})
`);
    expect(results.map((r) => r.value.error)).toEqual(["url", "url", "http"]);
    expect(server.requests).toEqual([]);
  });
});

describe("downloads.download", () => {
  const url = () => `http://127.0.0.1:${server.port}/p/blob.bin`;

  it("streams a file to flash through the hasher; chunked bodies too", async () => {
    server.rules.push({ path: "/p/blob.bin", fault: { kind: "chunked", size: 777 } });
    const { results, run } = await device(`fetch("${url()}", 10000)\nfetch("${url()}", 10000)`);
    expect(results.map((r) => r.value)).toEqual([whole, whole]);
    // One 1 KB buffer, reused: the allocation does not follow the file size.
    expect(run.heapAllocated).toBeLessThan(60_000);
  });

  it("resumes with Range after a truncated body, a reset and a stall past the timeout", async () => {
    server.rules.push(
      { path: "/p/blob.bin", fault: { kind: "truncate", after: 3000 } },
      { path: "/p/blob.bin", fault: { kind: "reset", after: 2000 } },
      { path: "/p/blob.bin", fault: { kind: "stall", after: 1000 } },
    );
    const { results } = await device(`fetch("${url()}", 10000)`);
    expect(results[0]!.value).toEqual(whole);
    const ranges = server.requests.map((r) => r.headers.range);
    expect(ranges[0]).toBeUndefined();
    // Each retry asks for the bytes after those already on flash.
    expect(ranges.slice(1).every((r) => /^bytes=\d+-$/.test(r ?? ""))).toBe(true);
    expect(server.requests.at(-1)!.status).toBe(206);
    expect(server.requests).toHaveLength(4);
  });

  it("restarts from zero (never appends) when the server answers a Range request with 200", async () => {
    server.rules.push(
      { path: "/p/blob.bin", fault: { kind: "truncate", after: 4000 } },
      { path: "/p/blob.bin", fault: { kind: "ignoreRange" } },
    );
    const { results } = await device(`fetch("${url()}", 10000)`);
    expect(results[0]!.value).toEqual(whole);
    expect(server.requests.map((r) => [r.headers.range, r.status])).toEqual([
      [undefined, 200],
      ["bytes=4000-", 200],
    ]);
  });

  it("resumes through the fault server in proxy mode (Range passed to the upstream server)", async () => {
    const proxy = await startFaultServer({ upstream: server.url });
    try {
      proxy.rules.push({ path: "/p/blob.bin", fault: { kind: "truncate", after: 6000 } });
      const { results } = await device(`fetch("http://127.0.0.1:${proxy.port}/p/blob.bin", 10000)`);
      expect(results[0]!.value).toEqual(whole);
      expect(proxy.requests.map((r) => [r.headers.range, r.status])).toEqual([
        [undefined, 200],
        ["bytes=6000-", 206],
      ]);
      expect(server.requests.map((r) => r.headers.range)).toEqual([undefined, "bytes=6000-"]);
    } finally {
      await proxy.close();
    }
  });

  it("treats more bytes than the Content-Length as a failed transfer and fetches again", async () => {
    server.rules.push({ path: "/p/blob.bin", fault: { kind: "extra", bytes: 500 } });
    const { results } = await device(`fetch("${url()}", 10000)`);
    expect(results[0]!.value).toEqual(whole);
    expect(server.requests).toHaveLength(2);
  });

  it("refuses a file larger than the caller's cap, declared or not", async () => {
    server.rules.push({ path: "/p/blob.bin", fault: { kind: "chunked", size: 4096 } });
    const { results } = await device(`fetch("${url()}", 9999)\nfetch("${url()}", 9999)`);
    expect(results.map((r) => r.value)).toEqual([
      { error: "size", message: "the body is larger than the 9999 bytes expected" },
      { error: "size", message: "the server sends 10000 bytes where at most 9999 are expected" },
    ]);
  });

  it("gives up after its retries when every attempt fails, and says why", async () => {
    server.rules.push({ path: "/p/blob.bin", fault: { kind: "reset", after: 0 }, times: 4 });
    const { results } = await device(`fetch("${url()}", 10000)`);
    expect(results[0]!.value.error).toBe("network");
    expect(results[0]!.value.message).toMatch(/\(4 attempts\)$/);
  });

  it("does not retry a flash error: it comes out as the OSError it is", async () => {
    const { results } = await device(
      `
try:
    downloads.download("${url()}", "/d.bin", 10000)
    print("result", json.dumps({"value": "saved", "ms": 0}))
except OSError as e:
    print("result", json.dumps({"value": e.args[0], "ms": 0}))
`,
      { faults: [{ at: 3, errno: "ENOSPC" }] },
    );
    expect(results[0]!.value).toBe(28);
    expect(server.requests).toHaveLength(1);
  });

  it("retries a refused connection and a failed DNS lookup, then says which it was", async () => {
    const closed = await startFaultServer({ root });
    await closed.close();
    const { results } = await device(
      `fetch("http://127.0.0.1:${closed.port}/p/blob.bin", 10000)\nfetch("http://nowhere.invalid/x", 10)`,
    );
    expect(results.map((r) => r.value)).toEqual([
      {
        error: "network",
        message: `http://127.0.0.1:${closed.port}/p/blob.bin: connection refused (OSError 111) (4 attempts)`,
      },
      {
        error: "network",
        message: "http://nowhere.invalid/x: DNS lookup failed (OSError -202) (4 attempts)",
      },
    ]);
  });

  it("reports HTTP errors that retrying cannot fix at once", async () => {
    const { results } = await device(`fetch("http://127.0.0.1:${server.port}/p/missing", 100)`);
    expect(results[0]!.value).toEqual({
      error: "http",
      message: `http://127.0.0.1:${server.port}/p/missing: HTTP 404`,
    });
    expect(server.requests).toHaveLength(1);
  });
});
