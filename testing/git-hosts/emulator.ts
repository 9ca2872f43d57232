/**
 * What the provider emulators (GitHub, Gitea, Gogs) share: two loopback hosts (the API host and a
 * different host for raw files and release assets), a log of every request with its response bytes,
 * tokens and private repositories, ETag / If-None-Match, and page links.
 */
import { createHash } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { GitRepo, TreeEntry } from "./git-repo.ts";

export interface ReleaseSpec {
  tag: string;
  name?: string;
  body?: string;
  draft?: boolean;
  prerelease?: boolean;
  /** Files attached to the release, by asset name. */
  assets?: Record<string, Uint8Array | string>;
}

export interface HostedRepo {
  repo: GitRepo;
  /** Seen only with a valid token; without one the API answers 404, as the providers do. */
  private?: boolean;
  /** Oldest first; the newest non-draft, non-prerelease one is "latest". */
  releases?: ReleaseSpec[];
}

export interface EmulatorOptions {
  /** By "owner/name". */
  repos: Record<string, HostedRepo>;
  /** Valid API tokens; each one may read every repository. */
  tokens?: string[];
  /** Default page size of list endpoints (and of Gitea's tree pages). */
  perPage?: number;
  /**
   * Host names for the two hosts' URLs (both listen on 127.0.0.1; a virtual device maps the names with
   * its `hosts` option), so that they are different hosts to a client, as on the real services.
   */
  names?: { api: string; raw: string };
  /** Changes the bytes of raw file downloads (a tampering mirror or proxy), by repository path. */
  tamper?: (path: string, data: Buffer) => Buffer;
}

export interface RequestRecord {
  host: "api" | "raw";
  method: string;
  url: string;
  status: number;
  /** Response body bytes. */
  bytes: number;
  /** Whether the request carried an Authorization header (or token parameter). */
  authorized: boolean;
}

export interface Emulator {
  /** The API base URL a device config names (`source.api`). */
  api: string;
  /** The origin of the API host (web routes live there too). */
  origin: string;
  /** The origin of the other host (raw files, release asset storage). */
  rawOrigin: string;
  requests: RequestRecord[];
  /** Requests so far with their bytes, optionally only those matching `filter`. */
  totals(filter?: (r: RequestRecord) => boolean): { requests: number; bytes: number };
  close(): Promise<void>;
}

export interface Hosts {
  api: FastifyInstance;
  raw: FastifyInstance;
  requests: RequestRecord[];
  origin: string;
  rawOrigin: string;
  close(): Promise<void>;
}

/** Two Fastify servers on 127.0.0.1 with a shared request log. `setup` adds the routes before listening. */
export async function startHosts(
  setup: (hosts: Omit<Hosts, "origin" | "rawOrigin" | "close">) => void,
  names?: { api: string; raw: string },
): Promise<Hosts> {
  const requests: RequestRecord[] = [];
  const make = (host: "api" | "raw") => {
    const app = Fastify({
      logger: false,
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    });
    app.addHook("onResponse", async (request, reply) => {
      requests.push({
        host,
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        bytes: Number(reply.getHeader("content-length") ?? 0),
        authorized: request.headers.authorization !== undefined || /[?&](access_)?token=/.test(request.url),
      });
    });
    return app;
  };
  const api = make("api");
  const raw = make("raw");
  setup({ api, raw, requests });
  const named = (url: string, name?: string) => (name ? url.replace("127.0.0.1", name) : url);
  const origin = named(await api.listen({ port: 0, host: "127.0.0.1" }), names?.api);
  const rawOrigin = named(await raw.listen({ port: 0, host: "127.0.0.1" }), names?.raw);
  return {
    api,
    raw,
    requests,
    origin,
    rawOrigin,
    close: async () => {
      await Promise.all([api.close(), raw.close()]);
    },
  };
}

/** The Emulator over started hosts, with its API under `apiPath` on the API host. */
export function emulatorOf(hosts: Hosts, apiPath: string): Emulator {
  return {
    api: `${hosts.origin}${apiPath}`,
    origin: hosts.origin,
    rawOrigin: hosts.rawOrigin,
    requests: hosts.requests,
    totals: totalsOf(hosts.requests),
    close: hosts.close,
  };
}

function totalsOf(requests: RequestRecord[]) {
  return (filter: (r: RequestRecord) => boolean = () => true) => {
    const picked = requests.filter(filter);
    return { requests: picked.length, bytes: picked.reduce((n, r) => n + r.bytes, 0) };
  };
}

/** The token a request carries: `Authorization: token X`, `Bearer X`, or a `token`/`access_token` parameter. */
function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const [scheme, value] = header.split(/\s+/, 2);
    return scheme && /^(token|bearer)$/i.test(scheme) ? (value ?? "") : header;
  }
  const query = request.query as Record<string, string | undefined>;
  return query.access_token ?? query.token;
}

/** The route parameters of the emulators' repository routes. */
export type RepoParams = { owner: string; repo: string; "*"?: string } & Record<string, string>;

export type Access = { ok: true; hosted: HostedRepo; token: boolean } | { ok: false; status: 401 | 404 };

/**
 * Whether the request may read `owner/name`: a wrong token is 401 on every repository; a private
 * repository without a valid token is 404 (providers do not say that it exists).
 */
export function access(options: EmulatorOptions, request: FastifyRequest, repo: string): Access {
  const token = tokenOf(request);
  const valid = token !== undefined && (options.tokens ?? []).includes(token);
  if (token !== undefined && !valid) return { ok: false, status: 401 };
  const hosted = options.repos[repo];
  if (!hosted || (hosted.private && !valid)) return { ok: false, status: 404 };
  return { ok: true, hosted, token: valid };
}

/** The repository the route's :owner/:repo names, or undefined once the 401 or 404 is sent. */
export type RepoOpener = (request: FastifyRequest, reply: FastifyReply) => HostedRepo | undefined;

/** A provider's RepoOpener: `fail` sends its error body, with its `messages` for 401 and 404. */
export function repoOpener(
  options: EmulatorOptions,
  fail: (reply: FastifyReply, status: number, message: string) => unknown,
  messages: { 401: string; 404: string },
): RepoOpener {
  return (request, reply) => {
    const { owner, repo } = request.params as RepoParams;
    const got = access(options, request, `${owner}/${repo}`);
    if (got.ok) return got.hosted;
    fail(reply, got.status, messages[got.status]);
    return undefined;
  };
}

/** Declares GET routes of a repository: `handler` runs only when `open` finds one the request may read. */
export function repoGetter(api: FastifyInstance, open: RepoOpener) {
  return (
    path: string,
    handler: (hosted: HostedRepo, request: FastifyRequest, reply: FastifyReply) => unknown,
  ) =>
    api.get(path, async (request, reply) => {
      const hosted = open(request, reply);
      return hosted ? handler(hosted, request, reply) : reply;
    });
}

const etagOf = (body: Buffer) => `W/"${createHash("sha1").update(body).digest("hex")}"`;

/** Sends `body` with an ETag; 304 with no body when the request's If-None-Match names it. */
export function sendTagged(
  request: FastifyRequest,
  reply: FastifyReply,
  body: Buffer | string | object,
  contentType = "application/json; charset=utf-8",
  extra: Record<string, string> = {},
) {
  const bytes = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const etag = etagOf(bytes);
  reply.headers({ etag, ...extra });
  const wanted = request.headers["if-none-match"];
  if (wanted?.split(",").some((t) => t.trim() === etag || t.trim() === etag.slice(2))) {
    return reply.code(304).send();
  }
  return reply.code(200).header("content-type", contentType).send(bytes);
}

/**
 * One page of `items` and its RFC 8288 Link header (`first`/`prev`/`next`/`last`), for `?page=&per_page=`
 * (GitHub) or `?page=&limit=` (Gitea, Gogs).
 */
export function paginate<T>(
  request: FastifyRequest,
  items: T[],
  perPageDefault: number,
  sizeParam: "per_page" | "limit",
  max = 100,
): { page: T[]; link?: string; total: number; more: boolean } {
  const query = request.query as Record<string, string | undefined>;
  const size = Math.max(1, Math.min(max, Number(query[sizeParam] ?? perPageDefault) || perPageDefault));
  const last = Math.max(1, Math.ceil(items.length / size));
  const page = Math.max(1, Number(query.page ?? 1) || 1);
  const url = new URL(request.url, `http://${request.headers.host}`);
  const at = (n: number) => {
    url.searchParams.set("page", String(n));
    url.searchParams.set(sizeParam, String(size));
    return url.toString();
  };
  const links: string[] = [];
  if (page > 1) links.push(`<${at(page - 1)}>; rel="prev"`, `<${at(1)}>; rel="first"`);
  if (page < last) links.push(`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`);
  return {
    page: items.slice((page - 1) * size, page * size),
    link: links.length ? links.join(", ") : undefined,
    total: items.length,
    more: page < last,
  };
}

/** The releases the API lists: all but drafts, oldest first. */
export function visibleReleases(hosted: HostedRepo): ReleaseSpec[] {
  return (hosted.releases ?? []).filter((r) => !r.draft);
}

/** The release marked latest: the newest one that is neither a draft nor a prerelease. */
export function latestRelease(hosted: HostedRepo): ReleaseSpec | undefined {
  return (hosted.releases ?? []).filter((r) => !r.draft && !r.prerelease).at(-1);
}

export function assetBytes(data: Uint8Array | string): Buffer {
  return typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
}

/** A stable small id for a release or an asset (index based, as the tests build them). */
export function idOf(...parts: number[]): number {
  return parts.reduce((n, p) => n * 1000 + p + 1, 0);
}

/** The bytes a raw file download sends: the blob, unless the test tampers with it. */
export function rawBytes(options: EmulatorOptions, path: string, data: Buffer): Buffer {
  return options.tamper ? options.tamper(path, data) : data;
}

/** A file as the contents API of GitHub and Gogs describes it, its bytes in base64. */
export function contentsJson(path: string, sha: string, data: Buffer) {
  return {
    type: "file",
    encoding: "base64",
    size: data.length,
    name: path.split("/").at(-1),
    path,
    content: data.toString("base64"),
    sha,
  };
}

/** The release and asset an `idOf(release, asset)` id names, or undefined. */
export function assetById(
  hosted: HostedRepo,
  id: number,
): { release: ReleaseSpec; name: string; data: Buffer } | undefined {
  const release = hosted.releases?.[Math.floor(id / 1000) - 1];
  const entry = release && Object.entries(release.assets ?? {})[(id % 1000) - 1];
  return entry && { release: release!, name: entry[0], data: assetBytes(entry[1]) };
}

/** The tree SHA a ref, a commit SHA or a tree SHA names. */
export function treeOf(repo: GitRepo, ref: string): string | undefined {
  const commit = repo.resolve(ref);
  if (commit) return repo.commitInfo(commit).tree;
  if (!/^[0-9a-f]{40}$/.test(ref)) return undefined;
  try {
    repo.tree(ref, false);
    return ref;
  } catch {
    return undefined;
  }
}

/** The commit `ref` names and the blob at `path` in it, or undefined when either is missing. */
export function blobAt(
  repo: GitRepo,
  ref: string,
  path: string,
): { commit: string; entry: TreeEntry } | undefined {
  const commit = repo.resolve(ref);
  const entry = commit ? repo.tree(commit).find((e) => e.path === path && e.type === "blob") : undefined;
  return entry && { commit: commit!, entry };
}
