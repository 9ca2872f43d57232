/**
 * Emulators of the Gitea and Gogs APIs (`<origin>/api/v1`), serving real local git repositories.
 * Gitea: branches, git/trees (recursive, in pages: `page`, `per_page`, `truncated`, `total_count`),
 * raw files (`/raw/{path}?ref=`, ETag = the blob SHA-1, 304), releases (latest, by tag, list with
 * `X-Total-Count` and Link) whose attachments redirect to a storage host.
 * Gogs: branches (the commit id only), git/trees of one folder at a time (no recursive listing in its
 * documented API), raw files (`/raw/{ref}/{path}`), contents (base64), releases (list only).
 * Both: `Authorization: token X` (or `?token=`), 401 for a wrong token, 404 for a private repository
 * without one; neither sends rate-limit headers or ETags on API JSON.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import {
  access,
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

type Flavour = "gitea" | "gogs";

export function startGitea(options: EmulatorOptions): Promise<Emulator> {
  return start("gitea", options);
}

export function startGogs(options: EmulatorOptions): Promise<Emulator> {
  return start("gogs", options);
}

async function start(flavour: Flavour, options: EmulatorOptions): Promise<Emulator> {
  const perPage = options.perPage ?? (flavour === "gitea" ? 1000 : 30);
  let origin = "";
  let rawOrigin = "";
  const hosts = await startHosts(({ api, raw }) => {
    const fail = (reply: FastifyReply, status: number, message: string) =>
      reply
        .code(status)
        .send(flavour === "gitea" ? { message, url: `${origin}/api/swagger`, errors: null } : { message });
    const notFound = flavour === "gitea" ? "The target couldn't be found." : "Not Found";
    const get = repoGetter(
      api,
      repoOpener(options, fail, { 401: "invalid username, password or token", 404: notFound }),
    );
    const base = (request: FastifyRequest) => {
      const { owner, repo } = request.params as RepoParams;
      return `${origin}/api/v1/repos/${owner}/${repo}`;
    };
    const send = (reply: FastifyReply, body: object, extra: Record<string, string> = {}) =>
      reply
        .code(200)
        .headers(extra)
        .header("content-type", "application/json; charset=utf-8")
        .send(JSON.stringify(body));

    get("/api/v1/repos/:owner/:repo/branches/*", async (hosted, request, reply) => {
      const name = (request.params as RepoParams)["*"]!;
      const branch = hosted.repo.branches().find((b) => b.name === name);
      if (!branch) return fail(reply, 404, `branch does not exist [name: ${name}]`);
      return send(reply, {
        name,
        commit: commitJson(hosted.repo, branch.sha, base(request)),
        protected: false,
      });
    });

    get("/api/v1/repos/:owner/:repo/branches", async (hosted, request, reply) => {
      const items = hosted.repo
        .branches()
        .map((b) => ({ name: b.name, commit: commitJson(hosted.repo, b.sha, base(request)) }));
      const { page, link, total } = paginate(request, items, 30, "limit");
      return send(reply, page, { "x-total-count": String(total), ...(link ? { link } : {}) });
    });

    get("/api/v1/repos/:owner/:repo/git/trees/:sha", async (hosted, request, reply) => {
      const { sha } = request.params as RepoParams;
      const query = request.query as Record<string, string | undefined>;
      const treeSha = treeOf(hosted.repo, sha!);
      if (!treeSha) return fail(reply, 404, flavour === "gitea" ? "sha not provided" : "Not Found");
      const recursive = flavour === "gitea" && /^(1|true)$/.test(query.recursive ?? "");
      const entries = hosted.repo.tree(treeSha, recursive).map((e) => ({
        path: e.path,
        mode: e.mode,
        type: e.type,
        size: e.size ?? 0,
        sha: e.sha,
        url: `${base(request)}/git/${e.type === "blob" ? "blobs" : "trees"}/${e.sha}`,
      }));
      if (flavour === "gogs") {
        return send(reply, {
          sha: treeSha,
          url: `${base(request)}/git/trees/${treeSha}`,
          tree: entries,
        });
      }
      const { page, more, total } = paginate(request, entries, perPage, "per_page", perPage); // at most the server's page size
      return send(reply, {
        sha: treeSha,
        url: `${base(request)}/git/trees/${treeSha}`,
        tree: page,
        truncated: more,
        page: Number(query.page ?? 1) || 1,
        total_count: total,
      });
    });

    const rawFile = (
      request: FastifyRequest,
      reply: FastifyReply,
      hosted: HostedRepo,
      ref: string,
      path: string,
    ) => {
      const entry = blobAt(hosted.repo, ref, path)?.entry;
      if (!entry) return fail(reply, 404, notFound);
      const data = rawBytes(options, path, hosted.repo.blob(entry.sha));
      if (flavour === "gogs")
        return reply.code(200).header("content-type", "text/plain; charset=utf-8").send(data);
      // Gitea serves blobs with the blob SHA-1 as a strong ETag.
      reply.header("etag", `"${entry.sha}"`);
      if (request.headers["if-none-match"] === `"${entry.sha}"`) return reply.code(304).send();
      return reply.code(200).header("content-type", "text/plain; charset=utf-8").send(data);
    };

    if (flavour === "gitea") {
      get("/api/v1/repos/:owner/:repo/raw/*", async (hosted, request, reply) => {
        const ref = (request.query as Record<string, string | undefined>).ref ?? "main";
        return rawFile(request, reply, hosted, ref, decodeURIComponent((request.params as RepoParams)["*"]!));
      });
    } else {
      get("/api/v1/repos/:owner/:repo/raw/*", async (hosted, request, reply) => {
        const rest = decodeURIComponent((request.params as RepoParams)["*"]!);
        const cut = rest.indexOf("/");
        return rawFile(request, reply, hosted, rest.slice(0, cut), rest.slice(cut + 1));
      });
      get("/api/v1/repos/:owner/:repo/contents/*", async (hosted, request, reply) => {
        const path = decodeURIComponent((request.params as RepoParams)["*"]!);
        const ref = (request.query as Record<string, string | undefined>).ref ?? "main";
        const entry = blobAt(hosted.repo, ref, path)?.entry;
        if (!entry) return fail(reply, 404, "Not Found");
        return send(reply, contentsJson(path, entry.sha, hosted.repo.blob(entry.sha)));
      });
    }

    const releaseJson = (request: FastifyRequest, hosted: HostedRepo, release: ReleaseSpec) => {
      const { owner, repo } = request.params as RepoParams;
      const index = hosted.releases!.indexOf(release);
      const sha = hosted.repo.resolve(release.tag);
      const date = sha ? hosted.repo.commitInfo(sha).committer.date : null;
      const assets = Object.entries(release.assets ?? {}).map(([name, data], i) => ({
        id: idOf(index, i),
        name,
        size: assetBytes(data).length,
        download_count: 0,
        created_at: date,
        uuid: `00000000-0000-4000-8000-${String(idOf(index, i)).padStart(12, "0")}`,
        browser_download_url: `${origin}/${owner}/${repo}/releases/download/${release.tag}/${name}`,
      }));
      return {
        id: idOf(index),
        tag_name: release.tag,
        target_commitish: sha,
        name: release.name ?? release.tag,
        body: release.body ?? "",
        url: `${base(request)}/releases/${idOf(index)}`,
        tarball_url: `${origin}/${owner}/${repo}/archive/${release.tag}.tar.gz`,
        zipball_url: `${origin}/${owner}/${repo}/archive/${release.tag}.zip`,
        draft: release.draft === true,
        prerelease: release.prerelease === true,
        created_at: date,
        published_at: date,
        [flavour === "gitea" ? "assets" : "attachments"]: assets,
      };
    };

    get("/api/v1/repos/:owner/:repo/releases", async (hosted, request, reply) => {
      const items = visibleReleases(hosted)
        .reverse()
        .map((r) => releaseJson(request, hosted, r));
      const { page, link, total } = paginate(request, items, perPage, "limit");
      return send(reply, page, { "x-total-count": String(total), ...(link ? { link } : {}) });
    });

    if (flavour === "gitea") {
      get("/api/v1/repos/:owner/:repo/releases/latest", async (hosted, request, reply) => {
        const release = latestRelease(hosted);
        if (!release) return fail(reply, 404, "The target couldn't be found.");
        return send(reply, releaseJson(request, hosted, release));
      });
      get("/api/v1/repos/:owner/:repo/releases/tags/*", async (hosted, request, reply) => {
        const tag = (request.params as RepoParams)["*"];
        const release = visibleReleases(hosted).find((r) => r.tag === tag);
        if (!release) return fail(reply, 404, "The target couldn't be found.");
        return send(reply, releaseJson(request, hosted, release));
      });
    }

    // Web route for attachments: redirects to the storage host (as with SERVE_DIRECT object storage).
    api.get("/:owner/:repo/releases/download/:tag/:name", async (request, reply) => {
      const { owner, repo, tag, name } = request.params as RepoParams;
      const hosted = options.repos[`${owner}/${repo}`];
      const token = access(options, request, `${owner}/${repo}`);
      if (!hosted || !token.ok) return reply.code(404).send("Not Found");
      const index = (hosted.releases ?? []).findIndex((r) => r.tag === tag);
      const i = index < 0 ? -1 : Object.keys(hosted.releases![index]!.assets ?? {}).indexOf(name!);
      if (i < 0) return reply.code(404).send("Not Found");
      return reply.redirect(`${rawOrigin}/attachments/${owner}/${repo}/${idOf(index, i)}`, 302);
    });
    raw.get("/attachments/:owner/:repo/:id", async (request, reply) => {
      const { owner, repo, id } = request.params as RepoParams;
      const hosted = options.repos[`${owner}/${repo}`];
      const asset = hosted && assetById(hosted, Number(id));
      if (!asset) return reply.code(404).send("Not Found");
      return sendTagged(request, reply, asset.data, "application/octet-stream");
    });
  }, options.names);
  origin = hosts.origin;
  rawOrigin = hosts.rawOrigin;
  return emulatorOf(hosts, "/api/v1");
}

function commitJson(repo: GitRepo, sha: string, base: string) {
  const info = repo.commitInfo(sha);
  const person = (p: { name: string; email: string }) => ({ name: p.name, email: p.email, username: "" });
  return {
    id: sha,
    message: `${info.message}\n`,
    url: `${base}/git/commits/${sha}`,
    author: person(info.author),
    committer: person(info.committer),
    timestamp: info.committer.date,
  };
}
