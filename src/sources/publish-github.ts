/**
 * `mpota publish --github OWNER/REPO`: attaches a release's signed envelope as the `manifest.json`
 * asset of the GitHub release for its tag (created when missing; an older manifest.json is replaced).
 * Boards with keys that follow the repository verify it and fetch the tag's files from the repository
 * (docs/sources.md), so no blob needs uploading. Uses the REST API: releases/tags/{tag},
 * POST releases, DELETE releases/assets/{id}, and the release's upload_url.
 */
import { MpotaError } from "../errors/index.ts";

export interface GitHubPublishOptions {
  /** Default https://api.github.com; GitHub Enterprise Server: https://HOST/api/v3. */
  api?: string;
  /** "owner/name". */
  repo: string;
  /** A token that may write releases (never printed). */
  token: string;
  tag: string;
  /** The envelope bytes, as `mpota release` stored them. */
  envelope: Uint8Array;
  name?: string;
  body?: string;
}

export interface GitHubPublishResult {
  releaseUrl: string;
  assetUrl: string;
  created: boolean;
  replaced: boolean;
}

interface ReleaseJson {
  html_url: string;
  upload_url: string;
  assets: Array<{ id: number; name: string; url: string }>;
}

/** A release GitHub would not take (its status and message), or a GitHub that cannot be reached. */
export class GitHubPublishError extends MpotaError {
  constructor(message: string) {
    super("publish", message);
  }
}

export async function publishGitHub(options: GitHubPublishOptions): Promise<GitHubPublishResult> {
  const api = (options.api ?? "https://api.github.com").replace(/\/+$/, "");
  if (!/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/.test(options.repo))
    throw new GitHubPublishError(`repository "${options.repo}" must be owner/name`);
  const headers = {
    authorization: `Bearer ${options.token}`,
    accept: "application/vnd.github+json",
    "x-github-api-version": "2022-11-28",
  };
  const call = async (method: string, url: string, body?: string | Buffer, type?: string) => {
    const response = await fetch(url, {
      method,
      headers: type ? { ...headers, "content-type": type } : headers,
      body,
    });
    if (response.status === 404 && method === "GET") return undefined;
    if (!response.ok) {
      const text = await response.text();
      let message = text.slice(0, 200);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {}
      const why =
        response.status === 401
          ? " (the token was refused)"
          : response.status === 403
            ? " (the token may not write releases)"
            : "";
      throw new GitHubPublishError(
        `${method} ${url.split("?")[0]}: HTTP ${response.status} ${message}${why}`,
      );
    }
    return response.status === 204 ? undefined : ((await response.json()) as unknown);
  };
  const base = `${api}/repos/${options.repo}`;
  let release = (await call("GET", `${base}/releases/tags/${encodeURIComponent(options.tag)}`)) as
    | ReleaseJson
    | undefined;
  const created = release === undefined;
  if (!release) {
    release = (await call(
      "POST",
      `${base}/releases`,
      JSON.stringify({ tag_name: options.tag, name: options.name ?? options.tag, body: options.body ?? "" }),
      "application/json",
    )) as ReleaseJson;
  }
  const old = release.assets.find((a) => a.name === "manifest.json");
  if (old) await call("DELETE", `${base}/releases/assets/${old.id}`);
  const upload = `${release.upload_url.replace(/\{.*\}$/, "")}?name=manifest.json`;
  const asset = (await call("POST", upload, Buffer.from(options.envelope), "application/octet-stream")) as {
    url: string;
  };
  return { releaseUrl: release.html_url, assetUrl: asset.url, created, replaced: old !== undefined };
}
