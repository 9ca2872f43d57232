/**
 * A fault-injecting HTTP/1.1 server for device tests: it serves a folder (GET, ETag / If-None-Match,
 * `Range: bytes=N-`) or proxies an upstream server, and misbehaves on the requests a rule matches:
 * truncates, corrupts a byte, stalls, resets, answers 5xx with Retry-After, sends more bytes than it
 * declares, ignores Range, redirects in a loop, sends huge headers or an endless body.
 * It writes responses byte by byte itself (over plain TCP or TLS), so it can break HTTP in ways a
 * well-behaved server library never would.
 */
import { request as httpRequest } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { siteFile } from "../src/static/index.ts";

export type Fault =
  /** Close the connection after `after` bytes of the body. */
  | { kind: "truncate"; after: number }
  /** Flip the bits of the body byte at `at`. */
  | { kind: "corrupt"; at: number }
  /** Send `after` bytes of the body, then nothing for `ms` (default: until the client gives up). */
  | { kind: "stall"; after: number; ms?: number }
  /** Send `after` bytes of the body, then a TCP reset. */
  | { kind: "reset"; after: number }
  /** Answer `status` (with `Retry-After: retryAfter` when given) instead of the resource. */
  | { kind: "status"; status: number; retryAfter?: number | string }
  /** Send `bytes` more bytes than the Content-Length declares. */
  | { kind: "extra"; bytes: number }
  /** Answer a Range request with 200 and the whole resource. */
  | { kind: "ignoreRange" }
  /** Answer 302 to `to` (a path on this server or a URL); the request's own path makes a loop. */
  | { kind: "redirect"; to: string }
  /** Add `bytes` of response headers. */
  | { kind: "hugeHeaders"; bytes: number }
  /** 200 without a length, then bytes until the client goes away (at most 64 MiB). */
  | { kind: "endless" }
  /** Send the body with Transfer-Encoding: chunked (chunks of `size` bytes). */
  | { kind: "chunked"; size: number }
  /** Replace the body with `body` (keeping everything else, Content-Length fitting the new body). */
  | { kind: "body"; body: Uint8Array }
  /** Send the head, then the body one byte every `everyMs`. */
  | { kind: "drip"; everyMs: number }
  /** Add a Date header with this machine's time (the folder server sends none otherwise). */
  | { kind: "date" };

export interface FaultRule {
  /** The request path (exact) or a pattern it matches. */
  path: string | RegExp;
  fault: Fault;
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

export interface FaultRequest {
  path: string;
  headers: Record<string, string>;
  /** The status sent (after faults), and the fault applied, if any. */
  status: number;
  fault?: Fault["kind"];
}

export interface FaultServer {
  url: string;
  port: number;
  /** Rules, first match wins; tests may push and clear them between runs. */
  rules: FaultRule[];
  /** Every request, in order. */
  requests: FaultRequest[];
  close: () => Promise<void>;
}

export interface FaultServerOptions {
  /** Serve this folder... */
  root?: string;
  /** ...or forward each request to this server (http://host:port). */
  upstream?: string;
  /** Listen with TLS (PEM key and certificate). */
  tls?: { key: string; cert: string };
}

interface Reply {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

const REASONS: Record<number, string> = {
  200: "OK",
  206: "Partial Content",
  302: "Found",
  304: "Not Modified",
  404: "Not Found",
  416: "Range Not Satisfiable",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

const ENDLESS_CAP = 64 << 20;

function parseHead(head: string): { path: string; headers: Record<string, string> } | null {
  const [requestLine, ...lines] = head.split("\r\n");
  const [method, target] = (requestLine ?? "").split(" ");
  if (method !== "GET" || !target) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { path: target, headers };
}

function serveFile(root: string, path: string, headers: Record<string, string>, useRange: boolean): Reply {
  const found = siteFile(root, decodeURIComponent(path.split("?")[0]!));
  if (!found) return { status: 404, headers: [], body: Buffer.alloc(0) };
  const { body, etag } = found;
  if (headers["if-none-match"] === etag)
    return { status: 304, headers: [["ETag", etag]], body: Buffer.alloc(0) };
  const range = /^bytes=(\d+)-$/.exec(headers.range ?? "");
  if (useRange && range) {
    const start = Number(range[1]);
    if (start >= body.length)
      return { status: 416, headers: [["Content-Range", `bytes */${body.length}`]], body: Buffer.alloc(0) };
    return {
      status: 206,
      headers: [
        ["ETag", etag],
        ["Content-Range", `bytes ${start}-${body.length - 1}/${body.length}`],
      ],
      body: body.subarray(start),
    };
  }
  return { status: 200, headers: [["ETag", etag]], body };
}

function forward(upstream: string, path: string, headers: Record<string, string>): Promise<Reply> {
  const { host, connection, ...rest } = headers;
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${upstream}${path}`, { headers: rest }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (b: Buffer) => parts.push(b));
      res.on("end", () => {
        const keep = Object.entries(res.headers).filter(
          ([k]) => !["content-length", "transfer-encoding", "connection", "keep-alive", "date"].includes(k),
        );
        resolve({
          status: res.statusCode ?? 502,
          headers: keep.map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]),
          body: Buffer.concat(parts),
        });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function headBytes(status: number, headers: Array<[string, string]>): Buffer {
  const lines = [
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}`,
    ...headers.map(([k, v]) => `${k}: ${v}`),
  ];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`);
}

function chunked(body: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const piece = body.subarray(i, i + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

function resetSocket(socket: Socket): void {
  if (typeof socket.resetAndDestroy === "function" && !("encrypted" in socket)) socket.resetAndDestroy();
  else socket.destroy();
}

/** Writes the bytes of an endless body while the client keeps reading. */
function pourEndless(socket: Socket): void {
  const piece = Buffer.alloc(16 << 10, 0x61);
  let sent = 0;
  const pour = () => {
    while (!socket.destroyed && sent < ENDLESS_CAP) {
      sent += piece.length;
      if (!socket.write(piece)) {
        socket.once("drain", pour);
        return;
      }
    }
    socket.end();
  };
  pour();
}

/** Writes `body` one byte every `everyMs` (then ends) while the client stays connected. */
function drip(socket: Socket, body: Buffer, everyMs: number, timers: Set<NodeJS.Timeout>): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= body.length) {
      clearInterval(timer);
      timers.delete(timer);
      if (!socket.destroyed) socket.end();
      return;
    }
    socket.write(body.subarray(at, at + 1));
    at++;
  }, everyMs);
  timers.add(timer);
}

export async function startFaultServer(options: FaultServerOptions): Promise<FaultServer> {
  const rules: FaultRule[] = [];
  const requests: FaultRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const takeFault = (path: string): Fault | undefined => {
    const i = rules.findIndex((r) => (typeof r.path === "string" ? r.path === path : r.path.test(path)));
    if (i < 0) return undefined;
    const rule = rules[i]!;
    const times = (rule.times ?? 1) - 1;
    if (times <= 0) rules.splice(i, 1);
    else rule.times = times;
    return rule.fault;
  };

  const respond = async (socket: Socket, path: string, headers: Record<string, string>) => {
    const fault = takeFault(path);
    const log: FaultRequest = { path, headers, status: 0, fault: fault?.kind };
    requests.push(log);
    const send = (reply: Reply, extraHeaders: Array<[string, string]> = []) => {
      log.status = reply.status;
      const withBody = reply.status !== 304;
      const head = headBytes(reply.status, [
        ...reply.headers,
        ...extraHeaders,
        ...(withBody && fault?.kind !== "chunked" && fault?.kind !== "endless"
          ? ([["Content-Length", String(reply.body.length)]] as Array<[string, string]>)
          : []),
        ["Connection", "close"],
      ]);
      return { head, body: withBody ? reply.body : Buffer.alloc(0) };
    };

    if (fault?.kind === "status") {
      const extra: Array<[string, string]> =
        fault.retryAfter !== undefined ? [["Retry-After", String(fault.retryAfter)]] : [];
      const { head, body } = send({ status: fault.status, headers: extra, body: Buffer.from("busy\n") });
      socket.end(Buffer.concat([head, body]));
      return;
    }
    if (fault?.kind === "redirect") {
      const { head } = send({ status: 302, headers: [["Location", fault.to]], body: Buffer.alloc(0) });
      socket.end(head);
      return;
    }
    if (fault?.kind === "endless") {
      log.status = 200;
      socket.write(headBytes(200, [["Connection", "close"]]));
      pourEndless(socket);
      return;
    }
    let reply: Reply;
    if (options.upstream) {
      const upstreamHeaders = { ...headers };
      if (fault?.kind === "ignoreRange") delete upstreamHeaders.range;
      reply = await forward(options.upstream, path, upstreamHeaders);
    } else {
      reply = serveFile(options.root ?? ".", path, headers, fault?.kind !== "ignoreRange");
    }
    if (fault?.kind === "body") reply.body = Buffer.from(fault.body);
    const extra: Array<[string, string]> = [];
    if (fault?.kind === "hugeHeaders") {
      for (let left = fault.bytes, i = 0; left > 0; left -= 1000, i++)
        extra.push([`X-Filler-${i}`, "f".repeat(Math.min(1000, left))]);
    }
    if (fault?.kind === "chunked" && reply.status !== 304) extra.push(["Transfer-Encoding", "chunked"]);
    if (fault?.kind === "date") extra.push(["Date", new Date().toUTCString()]);
    const { head, body } = send(reply, extra);
    switch (fault?.kind) {
      case "truncate":
        socket.end(Buffer.concat([head, body.subarray(0, fault.after)]));
        return;
      case "corrupt": {
        const bad = Buffer.from(body);
        if (fault.at < bad.length) bad[fault.at]! ^= 0xff;
        socket.end(Buffer.concat([head, bad]));
        return;
      }
      case "stall": {
        socket.write(Buffer.concat([head, body.subarray(0, fault.after)]));
        if (fault.ms !== undefined) {
          const timer = setTimeout(() => {
            timers.delete(timer);
            socket.end(body.subarray(fault.after));
          }, fault.ms);
          timers.add(timer);
        }
        return;
      }
      case "reset":
        socket.write(Buffer.concat([head, body.subarray(0, fault.after)]), () => resetSocket(socket));
        return;
      case "extra":
        socket.end(Buffer.concat([head, body, Buffer.alloc(fault.bytes, 0x7a)]));
        return;
      case "chunked":
        socket.end(Buffer.concat([head, chunked(body, fault.size)]));
        return;
      case "drip":
        socket.write(head);
        drip(socket, body, fault.everyMs, timers);
        return;
      default:
        socket.end(Buffer.concat([head, body]));
    }
  };

  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = Buffer.alloc(0);
    const onData = (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      const end = pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const request = parseHead(pending.subarray(0, end).toString("latin1"));
      if (!request) {
        socket.end(headBytes(400, [["Content-Length", "0"]]));
        return;
      }
      respond(socket, request.path, request.headers).catch(() => socket.destroy());
    };
    socket.on("data", onData);
  };

  const server: Server = options.tls
    ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, onConnection)
    : createTcpServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    rules,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
