/**
 * The layout of the micropython_ota library (olivergregorius/micropython_ota): a plain web server
 * folder with `<project>/version` (the version tag, e.g. `v1.0.0`) and each file beside it as
 * `<project>/<version>_<filename>`, or `<project>/<version>/<filename>` when the devices call
 * ota_update(..., use_version_prefix=False). `writeMicropythonOta` writes it (`mpota publish
 * --micropython-ota`), `serveMicropythonOta` serves such a folder on loopback for tests, with HTTP
 * Basic auth when a user is given (as the library's `user=`/`passwd=` send it).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, normalize, sep } from "node:path";
import type { RequestRecord } from "./emulator.ts";

export interface MicropythonOtaRelease {
  project: string;
  /** The version tag the devices compare as a string (any text without a newline). */
  version: string;
  /** By path relative to the board's root ("main.py", "lib/util.py"). */
  files: Record<string, Uint8Array | string>;
  /** true (the library's default): `<version>_<file>`; false: `<version>/<file>`. */
  useVersionPrefix?: boolean;
}

/** The URL path of one file of a release below the server root. */
export function micropythonOtaPath(
  project: string,
  version: string,
  file: string,
  useVersionPrefix = true,
): string {
  return `${project}/${version}${useVersionPrefix ? "_" : "/"}${file}`;
}

/**
 * Writes a release into the layout under `root`: every file first, then `<project>/version` by rename,
 * so a device reading the folder meanwhile sees the old version or the new one. Older versions' files
 * stay (the library's documented way back is to write an older tag into `version`).
 */
export function writeMicropythonOta(root: string, release: MicropythonOtaRelease): string[] {
  const { project, version } = release;
  if (!version || /[\r\n/\\]/.test(version))
    throw new Error(`version tag "${version}" must be one line without slashes`);
  if (!project || project.split("/").some((p) => p === "" || p === "." || p === "..")) {
    throw new Error(`project "${project}" must be a relative folder name`);
  }
  const written: string[] = [];
  for (const [file, data] of Object.entries(release.files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (file.split("/").some((p) => p === "" || p === "." || p === "..") || file.includes("\\")) {
      throw new Error(`file name "${file}" must be a relative path`);
    }
    const rel = micropythonOtaPath(project, version, file, release.useVersionPrefix ?? true);
    const target = join(root, ...rel.split("/"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    written.push(rel);
  }
  const versionFile = join(root, project, "version");
  mkdirSync(dirname(versionFile), { recursive: true });
  writeFileSync(`${versionFile}.tmp`, `${version}\n`);
  renameSync(`${versionFile}.tmp`, versionFile);
  written.push(`${project}/version`);
  return written;
}

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
  const expected = auth
    ? `Basic ${Buffer.from(`${auth.user}:${auth.passwd}`).toString("base64")}`
    : undefined;
  const server = createServer((req, res) => {
    const log = (status: number, bytes: number) =>
      requests.push({
        host: "raw",
        method: req.method ?? "GET",
        url: req.url ?? "/",
        status,
        bytes,
        authorized: req.headers.authorization !== undefined,
      });
    if (expected && req.headers.authorization !== expected) {
      const body = "401 Authorization Required\n";
      res
        .writeHead(401, { "www-authenticate": 'Basic realm="ota"', "content-length": body.length })
        .end(body);
      log(401, body.length);
      return;
    }
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = join(root, normalize(path));
    if (
      req.method !== "GET" ||
      !file.startsWith(root + sep) ||
      !existsSync(file) ||
      !statSync(file).isFile()
    ) {
      const body = "404 Not Found\n";
      res.writeHead(404, { "content-length": body.length }).end(body);
      log(404, body.length);
      return;
    }
    const body = readFileSync(file);
    const etag = `"${createHash("sha1").update(body).digest("hex").slice(0, 16)}"`;
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { etag }).end();
      log(304, 0);
      return;
    }
    res
      .writeHead(200, { "content-length": body.length, etag, "content-type": "application/octet-stream" })
      .end(body);
    log(200, body.length);
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
