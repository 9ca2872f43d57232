/**
 * A small web server for a static site on 127.0.0.1 (GET only; ETag / If-None-Match; 404 for anything
 * missing): enough for a board on this machine to update from `mpota publish --static` output, in the
 * demo and in tests. Production sites go on a real web server, object store or CDN.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { sha256Hex } from "../manifest/index.ts";

/** One answered request: the path asked for, the status sent, and the body bytes sent. */
export interface ServedRequest {
  path: string;
  status: 200 | 304 | 404;
  bytes: number;
}

export interface StaticServer {
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close: () => Promise<void>;
}

/** Serves the folder `dir` on 127.0.0.1; `onServe` hears of every request as it is answered. */
export async function serveStatic(
  dir: string,
  onServe?: (request: ServedRequest) => void,
): Promise<StaticServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push(path);
    const file = join(dir, normalize(path));
    if (req.method !== "GET" || !file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-length": 0 }).end();
      onServe?.({ path, status: 404, bytes: 0 });
      return;
    }
    const body = readFileSync(file);
    const etag = `"${sha256Hex(body).slice(0, 16)}"`;
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { etag }).end();
      onServe?.({ path, status: 304, bytes: 0 });
      return;
    }
    res
      .writeHead(200, { "content-length": body.length, etag, "content-type": "application/octet-stream" })
      .end(body);
    onServe?.({ path, status: 200, bytes: body.length });
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
