import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRepo, type GitRepo } from "./git-repo.ts";
import { type GitHubEmulator, startGitHub } from "./github.ts";

const gitBlobSha1 = (data: Buffer | string) => {
  const bytes = Buffer.from(data);
  return createHash("sha1")
    .update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes]))
    .digest("hex");
};

let repo: GitRepo;
let secret: GitRepo;
let gh: GitHubEmulator;
let v1: string;
let v2: string;

beforeAll(async () => {
  repo = createRepo();
  v1 = repo.commit({ "main.py": "print(1)\n", "lib/util.py": "X = 1\n" }, "v1");
  repo.tag("v1.0.0");
  v2 = repo.commit({ "main.py": "print(2)\n", "lib/deep/new.py": "Y = 2\n" }, "v2");
  repo.tag("v1.1.0");
  repo.branch("dev");
  secret = createRepo();
  secret.commit({ "main.py": "print('private')\n" });
  gh = await startGitHub({
    repos: {
      "acme/app": {
        repo,
        releases: [
          { tag: "v1.0.0", assets: { "manifest.json": "{}" } },
          { tag: "v1.1.0", assets: { "manifest.json": '{"v":2}' } },
          { tag: "v1.2.0-rc.1", prerelease: true },
        ],
      },
      "acme/secret": { repo: secret, private: true },
    },
    tokens: ["ghp_good"],
    perPage: 2,
    rateLimit: { anonymous: 100, authenticated: 100, windowS: 3600 },
  });
});

afterAll(async () => {
  await gh.close();
  repo.close();
  secret.close();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, redirect: "manual" });

describe("GitHub emulator", () => {
  it("answers a branch tip as the bare SHA, with an ETag and 304 for a conditional request", async () => {
    const r = await get(`${gh.api}/repos/acme/app/commits/dev`, { accept: "application/vnd.github.sha" });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(v2);
    const etag = r.headers.get("etag")!;
    expect(etag).toMatch(/^W\/"/);
    const again = await get(`${gh.api}/repos/acme/app/commits/dev`, {
      accept: "application/vnd.github.sha",
      "if-none-match": etag,
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const missing = await get(`${gh.api}/repos/acme/app/commits/nope`);
    expect(missing.status).toBe(422);
  });

  it("refuses an API request without a User-Agent (403), as GitHub does", async () => {
    const r = await get(`${gh.api}/repos/acme/app/commits/dev`, { "user-agent": "" });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { message: string }).message).toMatch(/User-Agent/);
  });

  it("lists the recursive tree with git's own blob SHA-1s and sizes", async () => {
    const r = await get(`${gh.api}/repos/acme/app/git/trees/${v1}?recursive=1`);
    const body = (await r.json()) as {
      tree: Array<{ path: string; type: string; sha: string; size?: number }>;
    };
    expect(body.tree.map((e) => `${e.type} ${e.path}`)).toEqual([
      "tree lib",
      "blob lib/util.py",
      "blob main.py",
    ]);
    const main = body.tree.find((e) => e.path === "main.py")!;
    expect(main.sha).toBe(gitBlobSha1("print(1)\n"));
    expect(main.size).toBe(9);
    const flat = (await (await get(`${gh.api}/repos/acme/app/git/trees/v1.1.0`)).json()) as {
      tree: unknown[];
    };
    expect(flat.tree).toHaveLength(2);
  });

  it("serves raw contents on the API and redirects web raw links to the raw host", async () => {
    const raw = await get(`${gh.api}/repos/acme/app/contents/lib/deep/new.py?ref=${v2}`, {
      accept: "application/vnd.github.raw+json",
    });
    expect(await raw.text()).toBe("Y = 2\n");
    const web = await get(`${gh.origin}/acme/app/raw/${v2}/main.py`);
    expect(web.status).toBe(302);
    const to = web.headers.get("location")!;
    expect(to.startsWith(gh.rawOrigin)).toBe(true);
    expect(await (await get(to)).text()).toBe("print(2)\n");
  });

  it("finds the latest release (not the prerelease) and redirects its asset to the storage host", async () => {
    const r = await get(`${gh.api}/repos/acme/app/releases/latest`);
    const release = (await r.json()) as { tag_name: string; assets: Array<{ name: string; url: string }> };
    expect(release.tag_name).toBe("v1.1.0");
    const asset = await get(release.assets[0]!.url, { accept: "application/octet-stream" });
    expect(asset.status).toBe(302);
    const to = asset.headers.get("location")!;
    expect(to.startsWith(`${gh.rawOrigin}/release-assets/`)).toBe(true);
    expect(await (await get(to)).text()).toBe('{"v":2}');
    expect((await get(to.replace(/X-Signature=\w+/, "X-Signature=bad"))).status).toBe(403);
    expect((await get(`${gh.api}/repos/acme/app/releases/tags/v9.9.9`)).status).toBe(404);
  });

  it("pages lists with a Link header", async () => {
    const first = await get(`${gh.api}/repos/acme/app/releases`);
    expect(((await first.json()) as unknown[]).length).toBe(2);
    const link = first.headers.get("link")!;
    expect(link).toContain('rel="next"');
    const next = /<([^>]+)>; rel="next"/.exec(link)![1]!;
    const second = await get(next);
    expect(((await second.json()) as Array<{ tag_name: string }>).map((r) => r.tag_name)).toEqual(["v1.0.0"]);
    expect(second.headers.get("link")).toContain('rel="prev"');
  });

  it("hides a private repository without a token, refuses a wrong token, serves a good one", async () => {
    expect((await get(`${gh.api}/repos/acme/secret/commits/main`)).status).toBe(404);
    const wrong = await get(`${gh.api}/repos/acme/secret/commits/main`, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { message: string }).message).toBe("Bad credentials");
    expect((await get(`${gh.api}/repos/acme/app/commits/main`, { authorization: "token nope" })).status).toBe(
      401,
    );
    const good = await get(`${gh.api}/repos/acme/secret/contents/main.py`, {
      authorization: "Bearer ghp_good",
      accept: "application/vnd.github.raw",
    });
    expect(await good.text()).toBe("print('private')\n");
    expect((await get(`${gh.origin}/acme/secret/raw/main/main.py`)).status).toBe(404);
  });

  it("counts requests in rate-limit headers and answers 403 when they are spent", async () => {
    gh.setRemaining("anonymous", 1);
    const last = await get(`${gh.api}/repos/acme/app/commits/main`);
    expect(last.headers.get("x-ratelimit-remaining")).toBe("0");
    const reset = Number(last.headers.get("x-ratelimit-reset"));
    expect(reset).toBeGreaterThan(Date.now() / 1000);
    const spent = await get(`${gh.api}/repos/acme/app/commits/main`);
    expect(spent.status).toBe(403);
    expect(((await spent.json()) as { message: string }).message).toMatch(/rate limit exceeded/);
    // The raw host has no API rate limit.
    expect((await get(`${gh.rawOrigin}/acme/app/${v1}/main.py`)).status).toBe(200);
    // A 304 to an authorized request does not count.
    gh.setRemaining("authenticated", 5);
    const tagged = await get(`${gh.api}/repos/acme/app/commits/main`, { authorization: "Bearer ghp_good" });
    const etag = tagged.headers.get("etag")!;
    const cached = await get(`${gh.api}/repos/acme/app/commits/main`, {
      authorization: "Bearer ghp_good",
      "if-none-match": etag,
    });
    expect(cached.status).toBe(304);
    expect(cached.headers.get("x-ratelimit-remaining")).toBe("4");
    gh.setRemaining("anonymous", 100);
  });

  it("logs every request with its host, status and bytes", () => {
    const t = gh.totals((r) => r.host === "raw");
    expect(t.requests).toBeGreaterThan(0);
    expect(t.bytes).toBeGreaterThan(0);
  });
});
