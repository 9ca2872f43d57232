/**
 * Talking to an `mpota serve` server from the publisher's side: the admin API with a bearer token,
 * and publishing a release (only the blobs and patches the server lacks, then the envelope, then its
 * update packs, then optionally the channel). Used by `mpota publish --server`, `mpota device`, `mpota project`, `mpota rollout`.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { MpotaError } from "../errors/index.ts";
import { sha256Hex } from "../manifest/index.ts";
import {
  BLOB_FILE_PATTERN,
  PACK_FILE_PATTERN,
  PACK_NAME_HEX,
  PATCH_FILE_PATTERN,
  packName,
  packNameParts,
} from "../rules/hex.ts";
import type { ReleaseStore } from "../store/index.ts";

/** A refusal of the server (its HTTP status and its message), or a server that cannot be reached. */
export class ServerError extends MpotaError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super("server", message);
  }
}

export class AdminClient {
  readonly baseUrl: string;

  constructor(
    server: string,
    private readonly token: string,
  ) {
    this.baseUrl = server.replace(/\/+$/, "");
  }

  /** One admin API call (path below /api/v1); a non-2xx answer throws ServerError with the server's message. */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const raw = body instanceof Uint8Array;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined
            ? {}
            : { "content-type": raw ? "application/octet-stream" : "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ServerError(0, `cannot reach ${this.baseUrl} (${cause})`);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {}
      throw new ServerError(response.status, `${method} ${path}: ${response.status} ${message}`);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }
}

export interface ReleaseFiles {
  /** The release envelope (any JSON layout; the server re-serializes it). */
  envelope: Uint8Array;
  blob(name: string): Promise<Uint8Array>;
  patch(name: string): Promise<Uint8Array>;
  /**
   * Patches from earlier envelopes to this one (`<from>-<to>.fz`, read with `patch`), uploaded with the
   * release: a board on an earlier release downloads one instead of the whole envelope.
   */
  envelopePatches?: string[];
  /**
   * Update packs from earlier releases to this one (`<from16>-<to16>.pack`: packName), uploaded once the release
   * exists: a board on an earlier release downloads its whole update in one request.
   */
  packs?: string[];
  pack?(name: string): Promise<Uint8Array>;
}

export interface PublishOptions {
  project: string;
  /** Point this channel at the release once it is published. */
  channel?: string;
  /** Uploads in flight at once (default 4). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PublishResult {
  version: string;
  /** Blobs, patches and update packs sent / blobs and patches already on the server. */
  uploaded: number;
  skipped: number;
  bytes: number;
  created: boolean;
  channel?: string;
}

export async function publishRelease(
  client: AdminClient,
  files: ReleaseFiles,
  options: PublishOptions,
): Promise<PublishResult> {
  const envelope = JSON.parse(Buffer.from(files.envelope).toString("utf8")) as {
    signed?: { files?: Array<{ blobs?: { patches?: unknown[] } }> };
  };
  const project = encodeURIComponent(options.project);
  const plan = await client.request<{
    version: string;
    published: boolean;
    missing: { blobs: string[]; patches: string[] };
  }>("POST", `/projects/${project}/releases/plan`, envelope);
  const jobs = [
    ...plan.missing.blobs.map((name) => ({ kind: "blobs" as const, name })),
    ...plan.missing.patches.map((name) => ({ kind: "patches" as const, name })),
    ...(files.envelopePatches ?? []).map((name) => ({ kind: "patches" as const, name })),
  ];
  const total = (envelope.signed?.files ?? []).reduce((n, f) => n + 1 + (f.blobs?.patches?.length ?? 0), 0);
  const uploads = jobs.length;
  let done = 0;
  let bytes = 0;
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const data = job.kind === "blobs" ? await files.blob(job.name) : await files.patch(job.name);
      const headers = job.kind === "patches" ? { "x-mpota-sha256": sha256Hex(data) } : undefined;
      await client.request("PUT", `/projects/${project}/${job.kind}/${job.name}`, data, headers);
      bytes += data.length;
      options.onProgress?.(++done, uploads);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  const release = await client.request<{ version: string; createdAt: string }>(
    "POST",
    `/projects/${project}/releases`,
    envelope,
  );
  // Packs are checked against the release they lead to, so they go up once it exists (and before a
  // channel points at it).
  const packs = files.pack ? (files.packs ?? []) : [];
  for (const name of packs) {
    const data = await files.pack!(name);
    await client.request("PUT", `/projects/${project}/packs/${name}`, data);
    bytes += data.length;
  }
  const result: PublishResult = {
    version: release.version,
    uploaded: uploads + packs.length,
    skipped: Math.max(0, total - uploads),
    bytes,
    created: !plan.published,
  };
  if (options.channel) {
    await client.request("PUT", `/projects/${project}/channels/${encodeURIComponent(options.channel)}`, {
      version: release.version,
    });
    result.channel = options.channel;
  }
  return result;
}

const BLOB_NAME = new RegExp(BLOB_FILE_PATTERN);
const PATCH_NAME = new RegExp(PATCH_FILE_PATTERN);
const PACK_NAME = new RegExp(PACK_FILE_PATTERN);

/**
 * Release `version` of a release store (`mpota release --out`). The server names the files it lacks;
 * only names of the store's own layout are read (anything else is a ServerError).
 */
export function releaseFromStore(store: ReleaseStore, project: string, version: string): ReleaseFiles {
  const checked = (name: string, pattern: RegExp) => {
    if (!pattern.test(name))
      throw new ServerError(
        0,
        `the server asked for ${JSON.stringify(name)}, which is not a store file name`,
      );
    return name;
  };
  const packs = new Map(store.updatePacks(project, version).map((p) => [packName(p.from, p.to), p]));
  return {
    envelope: store.readRelease(project, version).bytes,
    envelopePatches: store.envelopePatches(project, version).map((p) => `${p.from}-${p.to}.fz`),
    packs: [...packs.keys()],
    pack: (name) => {
      const p = packs.get(checked(name, PACK_NAME));
      if (!p) throw new Error(`no update pack ${name} leads to ${project} ${version} in the store`);
      return readFile(store.packPath(p.from, p.to));
    },
    blob: (name) => readFile(store.blobPath(checked(name, BLOB_NAME).slice(0, 64))),
    patch: (name) => {
      const from = checked(name, PATCH_NAME).slice(0, 64);
      return readFile(store.patchPath(from, name.slice(65, 129)));
    },
  };
}

/**
 * A release in a folder of the static layout (what `mpota release` / `mpota publish --static` write):
 * `ROOT/<project>/releases/<version>.json` or `ROOT/releases/<version>.json`, with blobs/, patches/ and
 * packs/ beside.
 */
export async function releaseFromFolder(
  root: string,
  project: string,
  version: string,
): Promise<ReleaseFiles> {
  const nested = join(root, project);
  const base = existsSync(join(nested, "releases")) ? nested : root;
  const envelopePath = join(base, "releases", `${version}.json`);
  if (!existsSync(envelopePath))
    throw new Error(`no release ${version} in ${root} (looked for ${envelopePath})`);
  const envelope = await readFile(envelopePath);
  const to = sha256Hex(envelope);
  const patches = existsSync(join(base, "patches")) ? await readdir(join(base, "patches")) : [];
  const packs = existsSync(join(base, "packs")) ? await readdir(join(base, "packs")) : [];
  return {
    envelope,
    envelopePatches: patches.filter((name) => PATCH_NAME.test(name) && name.endsWith(`-${to}.fz`)),
    packs: packs.filter(
      (name) => PACK_NAME.test(name) && packNameParts(name).to === to.slice(0, PACK_NAME_HEX),
    ),
    pack: (name) => readFile(join(base, "packs", name)),
    blob: (name) => readFile(join(base, "blobs", name)),
    patch: (name) => readFile(join(base, "patches", name)),
  };
}
