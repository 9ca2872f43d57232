/**
 * A plain web server for the micropython_ota layout (src/sources/micropython-ota.ts) on loopback, with
 * HTTP Basic auth when a user is given (as the library's `user=`/`passwd=` send it).
 */
import { serveStatic } from "../src/static/serve.ts";
import type { RequestRecord } from "./git-hosts/emulator.ts";

export interface MicropythonOtaServer {
  url: string;
  requests: RequestRecord[];
  close(): Promise<void>;
}

/** Serves `root` on 127.0.0.1 like a plain web server: GET, ETag / 304, 404, optional Basic auth. */
export async function serveMicropythonOta(
  root: string,
  auth?: { user: string; passwd: string },
): Promise<MicropythonOtaServer> {
  const requests: RequestRecord[] = [];
  const server = await serveStatic(root, {
    basicAuth: auth,
    onServe: ({ method, url, status, bytes, authorized }) =>
      requests.push({ host: "raw", method, url, status, bytes, authorized }),
  });
  return { url: server.url, requests, close: server.close };
}
