/**
 * A small web server for a static site on 127.0.0.1 (GET only; ETag / If-None-Match; 404 for anything
 * missing; optional HTTP Basic auth): enough for a board on this machine to update from `mpota publish --static` output, in the
 * demo and in tests. Production sites go on a real web server, object store or CDN.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize, resolve, sep } from "node:path";
import { sha256Hex } from "../manifest/index.ts";

/** One answered request: what was asked, the status sent, and the body bytes sent. */
export interface ServedRequest {
  method: string;
  /** The path asked for (decoded, without the query). */
  path: string;
  /** The request target as sent (path and query). */
  url: string;
  status: 200 | 304 | 401 | 404;
  bytes: number;
  /** Whether the request carried an Authorization header. */
  authorized: boolean;
}

export interface StaticServer {
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close: () => Promise<void>;
}

export interface StaticServeOptions {
  /** Hears of every request as it is answered. */
  onServe?: (request: ServedRequest) => void;
  /** HTTP Basic credentials every request must carry (401 otherwise), as plain web servers ask them. */
  basicAuth?: { user: string; passwd: string };
}

/**
 * The file below `root` that the request path `path` (decoded, from "/") names, with its ETag; undefined
 * when there is none or the path leaves `root`.
 */
export function siteFile(root: string, path: string): { body: Buffer; etag: string } | undefined {
  const base = resolve(root);
  const file = join(base, normalize(path));
  if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) return undefined;
  const body = readFileSync(file);
  return { body, etag: `"${sha256Hex(body).slice(0, 16)}"` };
}

/** Serves the folder `dir` on 127.0.0.1. */
export async function serveStatic(dir: string, options: StaticServeOptions = {}): Promise<StaticServer> {
  const requests: string[] = [];
  const { onServe, basicAuth } = options;
  const expected = basicAuth
    ? `Basic ${Buffer.from(`${basicAuth.user}:${basicAuth.passwd}`).toString("base64")}`
    : undefined;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push(path);
    const answer = (
      status: ServedRequest["status"],
      headers: Record<string, string | number>,
      body: string | Buffer = "",
    ) => {
      res.writeHead(status, headers).end(body);
      onServe?.({
        method: req.method ?? "GET",
        path,
        url: req.url ?? "/",
        status,
        bytes: Buffer.byteLength(body),
        authorized: req.headers.authorization !== undefined,
      });
    };
    if (expected && req.headers.authorization !== expected) {
      const body = "401 Authorization Required\n";
      answer(401, { "www-authenticate": 'Basic realm="ota"', "content-length": body.length }, body);
      return;
    }
    const found = req.method === "GET" ? siteFile(dir, path) : undefined;
    if (!found) {
      const body = "404 Not Found\n";
      answer(404, { "content-length": body.length }, body);
      return;
    }
    const { body, etag } = found;
    if (req.headers["if-none-match"] === etag) {
      answer(304, { etag });
      return;
    }
    answer(200, { "content-length": body.length, etag, "content-type": "application/octet-stream" }, body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
