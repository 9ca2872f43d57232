import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "./emulator.ts";
import { createRepo, type GitRepo } from "./git-repo.ts";
import { startGitea, startGogs } from "./gitea.ts";

let repo: GitRepo;
let gitea: Emulator;
let gogs: Emulator;
let tip: string;

beforeAll(async () => {
  repo = createRepo();
  repo.commit({ "main.py": "print(1)\n", "lib/a.py": "A\n", "lib/b.py": "B\n", "lib/sub/c.py": "C\n" });
  repo.tag("v1.0.0");
  tip = repo.commit({ "main.py": "print(2)\n" });
  const options = {
    repos: {
      "acme/app": { repo, releases: [{ tag: "v1.0.0", assets: { "manifest.json": "{}" } }] },
      "acme/secret": { repo, private: true },
    },
    tokens: ["good"],
    perPage: 2,
  };
  gitea = await startGitea(options);
  gogs = await startGogs(options);
});

afterAll(async () => {
  await gitea.close();
  await gogs.close();
  repo.close();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, redirect: "manual" });

describe("Gitea emulator", () => {
  it("answers a branch with its commit id", async () => {
    const body = (await (await get(`${gitea.api}/repos/acme/app/branches/main`)).json()) as {
      commit: { id: string };
    };
    expect(body.commit.id).toBe(tip);
    expect((await get(`${gitea.api}/repos/acme/app/branches/nope`)).status).toBe(404);
  });

  it("pages a recursive tree with truncated, page and total_count", async () => {
    const paths: string[] = [];
    for (let page = 1; ; page++) {
      const body = (await (
        await get(`${gitea.api}/repos/acme/app/git/trees/${tip}?recursive=true&page=${page}`)
      ).json()) as {
        tree: Array<{ path: string }>;
        truncated: boolean;
        total_count: number;
      };
      expect(body.total_count).toBe(6);
      paths.push(...body.tree.map((e) => e.path));
      if (!body.truncated) break;
    }
    expect(paths).toEqual(["lib", "lib/a.py", "lib/b.py", "lib/sub", "lib/sub/c.py", "main.py"]);
  });

  it("serves raw files with the blob SHA-1 as ETag and 304", async () => {
    const r = await get(`${gitea.api}/repos/acme/app/raw/lib/sub/c.py?ref=${tip}`);
    expect(await r.text()).toBe("C\n");
    const etag = r.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    expect(
      (await get(`${gitea.api}/repos/acme/app/raw/lib/sub/c.py?ref=${tip}`, { "if-none-match": etag }))
        .status,
    ).toBe(304);
  });

  it("has releases: latest, by tag, attachments redirected to storage", async () => {
    const latest = (await (await get(`${gitea.api}/repos/acme/app/releases/latest`)).json()) as {
      tag_name: string;
      assets: Array<{ browser_download_url: string }>;
    };
    expect(latest.tag_name).toBe("v1.0.0");
    const r = await get(latest.assets[0]!.browser_download_url);
    expect(r.status).toBe(302);
    expect(r.headers.get("location")!.startsWith(gitea.rawOrigin)).toBe(true);
    expect(await (await get(r.headers.get("location")!)).text()).toBe("{}");
    const list = await get(`${gitea.api}/repos/acme/app/releases`);
    expect(list.headers.get("x-total-count")).toBe("1");
  });

  it("checks tokens: 401 wrong, 404 private without, 200 with a good one (header or parameter)", async () => {
    expect((await get(`${gitea.api}/repos/acme/secret/branches/main`)).status).toBe(404);
    expect(
      (await get(`${gitea.api}/repos/acme/secret/branches/main`, { authorization: "token bad" })).status,
    ).toBe(401);
    expect(
      (await get(`${gitea.api}/repos/acme/secret/branches/main`, { authorization: "token good" })).status,
    ).toBe(200);
    expect((await get(`${gitea.api}/repos/acme/secret/branches/main?token=good`)).status).toBe(200);
  });
});

describe("Gogs emulator", () => {
  it("lists one folder per tree request (no recursive listing)", async () => {
    const body = (await (await get(`${gogs.api}/repos/acme/app/git/trees/${tip}?recursive=1`)).json()) as {
      tree: Array<{ path: string; type: string; sha: string }>;
    };
    expect(body.tree.map((e) => e.path)).toEqual(["lib", "main.py"]);
    const lib = body.tree[0]!;
    const sub = (await (await get(`${gogs.api}/repos/acme/app/git/trees/${lib.sha}`)).json()) as {
      tree: Array<{ path: string }>;
    };
    expect(sub.tree.map((e) => e.path)).toEqual(["a.py", "b.py", "sub"]);
  });

  it("serves raw files by ref and path, and contents as base64", async () => {
    expect(await (await get(`${gogs.api}/repos/acme/app/raw/${tip}/lib/a.py`)).text()).toBe("A\n");
    expect(await (await get(`${gogs.api}/repos/acme/app/raw/v1.0.0/main.py`)).text()).toBe("print(1)\n");
    const c = (await (await get(`${gogs.api}/repos/acme/app/contents/main.py?ref=main`)).json()) as {
      content: string;
    };
    expect(Buffer.from(c.content, "base64").toString()).toBe("print(2)\n");
    expect((await get(`${gogs.api}/repos/acme/app/releases/latest`)).status).toBe(404);
  });

  it("checks tokens like Gitea", async () => {
    expect((await get(`${gogs.api}/repos/acme/secret/raw/main/main.py`)).status).toBe(404);
    expect(
      (await get(`${gogs.api}/repos/acme/secret/raw/main/main.py`, { authorization: "token bad" })).status,
    ).toBe(401);
    expect(
      (await get(`${gogs.api}/repos/acme/secret/raw/main/main.py`, { authorization: "token good" })).status,
    ).toBe(200);
  });
});
