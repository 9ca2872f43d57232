/**
 * An emulator of the GitHub REST API (as GitHub Enterprise Server lays it out: the API under
 * `<origin>/api/v3`, web routes at `<origin>`), serving real local git repositories. It follows the
 * documented responses the device relies on: releases (latest, by tag, list) with assets that
 * redirect to a different storage host; branches; commits (also as the bare SHA with
 * `Accept: application/vnd.github.sha`); git/trees (recursive); contents (raw media type); web raw
 * links that redirect to the raw host; page links; ETag / 304; rate-limit headers and 403 when the
 * limit is spent; 403 without a User-Agent; 401 for a wrong token and 404 for a private repository
 * without one.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import {
  assetById,
  assetBytes,
  blobAt,
  contentsJson,
  type Emulator,
  type EmulatorOptions,
  emulatorOf,
  type HostedRepo,
  idOf,
  latestRelease,
  paginate,
  type ReleaseSpec,
  type RepoParams,
  rawBytes,
  repoGetter,
  repoOpener,
  sendTagged,
  startHosts,
  treeOf,
  visibleReleases,
} from "./emulator.ts";
import type { GitRepo } from "./git-repo.ts";

export interface GitHubOptions extends EmulatorOptions {
  /** Requests per window: 60 anonymous and 5000 with a token on github.com. */
  rateLimit?: { anonymous: number; authenticated: number; windowS: number };
}

export interface GitHubEmulator extends Emulator {
  /** Starts a new rate-limit window with `remaining` API requests left, for anonymous or token callers. */
  setRemaining(who: "anonymous" | "authenticated", remaining: number): void;
}

const DOCS = "https://docs.github.com/rest";
const SHA_MEDIA = "application/vnd.github.sha";

type Window = { used: number; reset: number };

export async function startGitHub(options: GitHubOptions): Promise<GitHubEmulator> {
  const limits = options.rateLimit ?? { anonymous: 60, authenticated: 5000, windowS: 3600 };
  const perPage = options.perPage ?? 30;
  const windows: Record<"anonymous" | "authenticated", Window> = {
    anonymous: { used: 0, reset: 0 },
    authenticated: { used: 0, reset: 0 },
  };
  const secret = randomBytes(16);
  const sign = (what: string, expires: number) =>
    createHmac("sha256", secret).update(`${what}:${expires}`).digest("hex").slice(0, 32);
  let origin = "";
  let rawOrigin = "";

  const hosts = await startHosts(({ api, raw }) => {
    const fail = (reply: FastifyReply, status: number, message: string) =>
      reply.code(status).send({ message, documentation_url: DOCS, status: String(status) });

    // Rate limit: every API request counts, except a 304 to an authorized request (as GitHub documents).
    // A request without a User-Agent is refused first, as GitHub does.
    api.addHook("onRequest", async (request, reply) => {
      if (!request.url.startsWith("/api/v3/") || request.url.startsWith("/api/v3/rate_limit")) return;
      if (!request.headers["user-agent"])
        return fail(
          reply,
          403,
          "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.",
        );
      const who = request.headers.authorization ? "authenticated" : "anonymous";
      const limit = limits[who];
      const window = windows[who];
      const now = Math.floor(Date.now() / 1000);
      if (now >= window.reset) {
        window.used = 0;
        window.reset = now + limits.windowS;
      }
      const headers = (used: number) => ({
        "x-ratelimit-limit": String(limit),
        "x-ratelimit-remaining": String(Math.max(0, limit - used)),
        "x-ratelimit-used": String(used),
        "x-ratelimit-reset": String(window.reset),
        "x-ratelimit-resource": "core",
      });
      if (window.used >= limit) {
        reply.headers(headers(window.used));
        return fail(
          reply,
          403,
          "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)",
        );
      }
      window.used += 1;
      reply.headers(headers(window.used));
    });
    api.addHook("onSend", async (request, reply, payload) => {
      if (reply.statusCode === 304 && request.headers.authorization && reply.getHeader("x-ratelimit-used")) {
        const window = windows.authenticated;
        window.used -= 1;
        reply.header("x-ratelimit-used", String(window.used));
        reply.header("x-ratelimit-remaining", String(limits.authenticated - window.used));
      }
      return payload;
    });

    api.get("/api/v3/rate_limit", async (request, reply) => {
      const who = request.headers.authorization ? "authenticated" : "anonymous";
      const w = windows[who];
      const core = { limit: limits[who], used: w.used, remaining: limits[who] - w.used, reset: w.reset };
      return reply.send({ resources: { core }, rate: core });
    });

    const open = repoOpener(options, fail, { 401: "Bad credentials", 404: "Not Found" });
    const get = repoGetter(api, open);
    const apiBase = (request: FastifyRequest) => {
      const { owner, repo } = request.params as RepoParams;
      return `${origin}/api/v3/repos/${owner}/${repo}`;
    };

    get("/api/v3/repos/:owner/:repo", async (hosted, request, reply) => {
      const { owner, repo } = request.params as RepoParams;
      return sendTagged(request, reply, {
        id: 1,
        name: repo,
        full_name: `${owner}/${repo}`,
        private: hosted.private === true,
        default_branch: "main",
        url: apiBase(request),
        html_url: `${origin}/${owner}/${repo}`,
      });
    });

    get("/api/v3/repos/:owner/:repo/branches", async (hosted, request, reply) => {
      const items = hosted.repo
        .branches()
        .map((b) => ({ name: b.name, commit: { sha: b.sha, url: `${apiBase(request)}/commits/${b.sha}` } }));
      const { page, link } = paginate(request, items, perPage, "per_page");
      return sendTagged(request, reply, page, undefined, link ? { link } : {});
    });

    get("/api/v3/repos/:owner/:repo/branches/*", async (hosted, request, reply) => {
      const name = (request.params as RepoParams)["*"]!;
      const branch = hosted.repo.branches().find((b) => b.name === name);
      if (!branch) return fail(reply, 404, "Branch not found");
      return sendTagged(request, reply, {
        name,
        commit: commitJson(hosted.repo, branch.sha, apiBase(request)),
        protected: false,
      });
    });

    get("/api/v3/repos/:owner/:repo/commits/*", async (hosted, request, reply) => {
      const ref = (request.params as RepoParams)["*"]!;
      const sha = hosted.repo.resolve(ref);
      if (!sha) return fail(reply, 422, `No commit found for SHA: ${ref}`);
      if ((request.headers.accept ?? "").includes(SHA_MEDIA)) {
        return sendTagged(request, reply, sha, `${SHA_MEDIA}; charset=utf-8`);
      }
      return sendTagged(request, reply, commitJson(hosted.repo, sha, apiBase(request)));
    });

    get("/api/v3/repos/:owner/:repo/git/trees/*", async (hosted, request, reply) => {
      const ref = (request.params as RepoParams)["*"]!;
      const recursive = (request.query as Record<string, string | undefined>).recursive !== undefined;
      const treeSha = treeOf(hosted.repo, ref);
      if (!treeSha) return fail(reply, 404, "Not Found");
      const base = apiBase(request);
      const tree = hosted.repo.tree(treeSha, recursive).map((e) => ({
        path: e.path,
        mode: e.mode,
        type: e.type,
        sha: e.sha,
        ...(e.type === "blob" ? { size: e.size } : {}),
        url: `${base}/git/${e.type === "blob" ? "blobs" : "trees"}/${e.sha}`,
      }));
      return sendTagged(request, reply, {
        sha: treeSha,
        url: `${base}/git/trees/${treeSha}`,
        tree,
        truncated: false,
      });
    });

    get("/api/v3/repos/:owner/:repo/git/blobs/:sha", async (hosted, request, reply) => {
      const { sha } = request.params as RepoParams;
      let data: Buffer;
      try {
        data = hosted.repo.blob(sha!);
      } catch {
        return fail(reply, 404, "Not Found");
      }
      if ((request.headers.accept ?? "").includes("application/vnd.github.raw")) {
        return sendTagged(request, reply, data, "application/vnd.github.raw");
      }
      return sendTagged(request, reply, {
        sha,
        size: data.length,
        url: `${apiBase(request)}/git/blobs/${sha}`,
        content: data.toString("base64"),
        encoding: "base64",
      });
    });

    get("/api/v3/repos/:owner/:repo/contents/*", async (hosted, request, reply) => {
      const { owner, repo } = request.params as RepoParams;
      const path = decodeURIComponent((request.params as RepoParams)["*"]!);
      const ref = (request.query as Record<string, string | undefined>).ref ?? "main";
      const found = blobAt(hosted.repo, ref, path);
      if (!found) return fail(reply, 404, "Not Found");
      const { commit: sha, entry } = found;
      const data = hosted.repo.blob(entry.sha);
      if ((request.headers.accept ?? "").includes("application/vnd.github.raw")) {
        return sendTagged(request, reply, rawBytes(options, path, data), "application/vnd.github.raw");
      }
      return sendTagged(request, reply, {
        ...contentsJson(path, entry.sha, data),
        url: `${apiBase(request)}/contents/${path}?ref=${ref}`,
        git_url: `${apiBase(request)}/git/blobs/${entry.sha}`,
        download_url: hosted.private ? null : `${rawOrigin}/${owner}/${repo}/${sha}/${path}`,
      });
    });

    const releaseJson = (request: FastifyRequest, hosted: HostedRepo, release: ReleaseSpec) => {
      const { owner, repo } = request.params as RepoParams;
      const index = hosted.releases!.indexOf(release);
      const base = apiBase(request);
      const id = idOf(index);
      const sha = hosted.repo.resolve(release.tag);
      return {
        url: `${base}/releases/${id}`,
        assets_url: `${base}/releases/${id}/assets`,
        upload_url: `${origin}/api/uploads/repos/${owner}/${repo}/releases/${id}/assets{?name,label}`,
        html_url: `${origin}/${owner}/${repo}/releases/tag/${release.tag}`,
        id,
        tag_name: release.tag,
        target_commitish: sha,
        name: release.name ?? release.tag,
        body: release.body ?? "",
        draft: release.draft === true,
        prerelease: release.prerelease === true,
        created_at: sha ? hosted.repo.commitInfo(sha).committer.date : null,
        published_at: sha ? hosted.repo.commitInfo(sha).committer.date : null,
        tarball_url: `${base}/tarball/${release.tag}`,
        zipball_url: `${base}/zipball/${release.tag}`,
        assets: Object.entries(release.assets ?? {}).map(([name, data], i) => ({
          url: `${base}/releases/assets/${idOf(index, i)}`,
          id: idOf(index, i),
          name,
          label: "",
          content_type: "application/octet-stream",
          state: "uploaded",
          size: assetBytes(data).length,
          download_count: 0,
          browser_download_url: `${origin}/${owner}/${repo}/releases/download/${release.tag}/${name}`,
        })),
      };
    };

    get("/api/v3/repos/:owner/:repo/releases", async (hosted, request, reply) => {
      const items = visibleReleases(hosted)
        .reverse()
        .map((r) => releaseJson(request, hosted, r));
      const { page, link } = paginate(request, items, perPage, "per_page");
      return sendTagged(request, reply, page, undefined, link ? { link } : {});
    });

    get("/api/v3/repos/:owner/:repo/releases/latest", async (hosted, request, reply) => {
      const release = latestRelease(hosted);
      if (!release) return fail(reply, 404, "Not Found");
      return sendTagged(request, reply, releaseJson(request, hosted, release));
    });

    get("/api/v3/repos/:owner/:repo/releases/tags/*", async (hosted, request, reply) => {
      const tag = (request.params as RepoParams)["*"];
      const release = visibleReleases(hosted).find((r) => r.tag === tag);
      if (!release) return fail(reply, 404, "Not Found");
      return sendTagged(request, reply, releaseJson(request, hosted, release));
    });

    // Publishing (what `mpota publish --github` calls): create a release, upload and delete assets.
    // Any valid token may write; without one the API answers 401 (as GitHub does for writes).
    const writer = (request: FastifyRequest, reply: FastifyReply): HostedRepo | undefined => {
      if (!request.headers.authorization) {
        fail(reply, 401, "Requires authentication");
        return undefined;
      }
      return open(request, reply);
    };
    api.post("/api/v3/repos/:owner/:repo/releases", async (request, reply) => {
      const hosted = writer(request, reply);
      if (!hosted) return reply;
      const body = (request.body ?? {}) as {
        tag_name?: string;
        name?: string;
        body?: string;
        draft?: boolean;
      };
      if (!body.tag_name) return fail(reply, 422, "Validation Failed");
      hosted.releases ??= [];
      if (hosted.releases.some((r) => r.tag === body.tag_name)) return fail(reply, 422, "Validation Failed");
      const release: ReleaseSpec = {
        tag: body.tag_name,
        name: body.name,
        body: body.body,
        draft: body.draft,
      };
      hosted.releases.push(release);
      return reply.code(201).send(releaseJson(request, hosted, release));
    });
    api.delete("/api/v3/repos/:owner/:repo/releases/assets/:id", async (request, reply) => {
      const hosted = writer(request, reply);
      if (!hosted) return reply;
      const asset = assetById(hosted, Number((request.params as RepoParams).id));
      if (!asset) return fail(reply, 404, "Not Found");
      delete asset.release.assets![asset.name];
      return reply.code(204).send();
    });
    api.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, (_r, body, done) =>
      done(null, body),
    );
    api.post("/api/uploads/repos/:owner/:repo/releases/:id/assets", async (request, reply) => {
      const hosted = writer(request, reply);
      if (!hosted) return reply;
      const id = Number((request.params as RepoParams).id);
      const release = hosted.releases?.[id - 1];
      const name = (request.query as Record<string, string | undefined>).name;
      if (!release || !name) return fail(reply, 404, "Not Found");
      if (name in (release.assets ?? {})) return fail(reply, 422, "Validation Failed: already_exists");
      release.assets = { ...release.assets, [name]: Buffer.from(request.body as Buffer) };
      const json = releaseJson(request, hosted, release);
      return reply.code(201).send(json.assets.find((a) => a.name === name));
    });

    get("/api/v3/repos/:owner/:repo/releases/assets/:id", async (hosted, request, reply) => {
      const id = Number((request.params as RepoParams).id);
      if (!assetById(hosted, id)) return fail(reply, 404, "Not Found");
      if ((request.headers.accept ?? "").includes("application/octet-stream")) {
        const { owner, repo } = request.params as RepoParams;
        return reply.redirect(assetLink(`${owner}/${repo}`, id), 302);
      }
      const release = hosted.releases![Math.floor(id / 1000) - 1]!;
      return sendTagged(
        request,
        reply,
        releaseJson(request, hosted, release).assets.find((a) => a.id === id)!,
      );
    });

    // Web routes: public downloads that redirect to the storage / raw host.
    api.get("/:owner/:repo/releases/download/:tag/:name", async (request, reply) => {
      const { owner, repo, tag, name } = request.params as RepoParams;
      const hosted = options.repos[`${owner}/${repo}`];
      if (!hosted || hosted.private) return reply.code(404).send("Not Found");
      const index = (hosted.releases ?? []).findIndex((r) => r.tag === tag && !r.draft);
      const i = index < 0 ? -1 : Object.keys(hosted.releases![index]!.assets ?? {}).indexOf(name!);
      if (i < 0) return reply.code(404).send("Not Found");
      return reply.redirect(assetLink(`${owner}/${repo}`, idOf(index, i)), 302);
    });
    api.get("/:owner/:repo/raw/*", async (request, reply) => {
      const { owner, repo } = request.params as RepoParams;
      const hosted = options.repos[`${owner}/${repo}`];
      if (!hosted || hosted.private) return reply.code(404).send("Not Found");
      return reply.redirect(`${rawOrigin}/${owner}/${repo}/${(request.params as RepoParams)["*"]}`, 302);
    });

    // A short-lived signed link on the storage host, as GitHub's redirects give.
    const assetLink = (repo: string, id: number) => {
      const expires = Math.floor(Date.now() / 1000) + 300;
      return `${rawOrigin}/release-assets/${repo}/${id}?X-Expires=${expires}&X-Signature=${sign(`${repo}/${id}`, expires)}`;
    };

    raw.get("/release-assets/:owner/:repo/:id", async (request, reply) => {
      const { owner, repo } = request.params as RepoParams;
      const id = Number((request.params as RepoParams).id);
      const query = request.query as Record<string, string | undefined>;
      const expires = Number(query["X-Expires"]);
      if (
        !(expires > Date.now() / 1000) ||
        query["X-Signature"] !== sign(`${owner}/${repo}/${id}`, expires)
      ) {
        return reply.code(403).send("Request has expired or its signature does not match");
      }
      const hosted = options.repos[`${owner}/${repo}`];
      const asset = hosted && assetById(hosted, id);
      if (!asset) return reply.code(404).send("Not Found");
      return sendTagged(request, reply, asset.data, "application/octet-stream");
    });
    raw.get("/:owner/:repo/*", async (request, reply) => {
      const { owner, repo } = request.params as RepoParams;
      const hosted = options.repos[`${owner}/${repo}`];
      const rest = (request.params as RepoParams)["*"]!;
      const cut = rest.indexOf("/");
      const sha = hosted && !hosted.private ? hosted.repo.resolve(rest.slice(0, cut)) : undefined;
      const path = decodeURIComponent(rest.slice(cut + 1));
      const data = sha ? hosted!.repo.file(sha, path) : undefined;
      if (!data) return reply.code(404).send("404: Not Found");
      return sendTagged(request, reply, rawBytes(options, path, data), "text/plain; charset=utf-8");
    });
  }, options.names);
  origin = hosts.origin;
  rawOrigin = hosts.rawOrigin;
  return {
    ...emulatorOf(hosts, "/api/v3"),
    setRemaining(who, remaining) {
      const window = windows[who];
      window.reset = Math.floor(Date.now() / 1000) + limits.windowS; // a fresh window from now
      window.used = limits[who] - remaining;
    },
  };
}

function commitJson(repo: GitRepo, sha: string, base: string) {
  const info = repo.commitInfo(sha);
  return {
    sha,
    url: `${base}/commits/${sha}`,
    commit: {
      author: info.author,
      committer: info.committer,
      message: info.message,
      tree: { sha: info.tree, url: `${base}/git/trees/${info.tree}` },
    },
    parents: info.parents.map((p) => ({ sha: p, url: `${base}/commits/${p}` })),
  };
}
