import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRepo, type GitRepo } from "../../testing/git-hosts/git-repo.ts";
import { type GitHubEmulator, startGitHub } from "../../testing/git-hosts/github.ts";
import { GitHubPublishError, publishGitHub } from "./publish-github.ts";

let repo: GitRepo;
let gh: GitHubEmulator;
const hosted = {
  repo: createRepo(),
  releases: [] as Array<{ tag: string; assets?: Record<string, Uint8Array | string> }>,
};

beforeAll(async () => {
  repo = hosted.repo;
  repo.commit({ "main.py": "print(1)\n" });
  repo.tag("v1.0.0");
  gh = await startGitHub({ repos: { "acme/app": hosted }, tokens: ["writer"] });
});
afterAll(async () => {
  await gh.close();
  repo.close();
});

describe("publishGitHub", () => {
  it("creates the release for a tag and attaches manifest.json; publishing again replaces it", async () => {
    const first = await publishGitHub({
      api: gh.api,
      repo: "acme/app",
      token: "writer",
      tag: "v1.0.0",
      envelope: Buffer.from("one"),
    });
    expect(first).toMatchObject({ created: true, replaced: false });
    expect(hosted.releases.map((r) => r.tag)).toEqual(["v1.0.0"]);
    const again = await publishGitHub({
      api: gh.api,
      repo: "acme/app",
      token: "writer",
      tag: "v1.0.0",
      envelope: Buffer.from("two"),
    });
    expect(again).toMatchObject({ created: false, replaced: true });
    const latest = (await (await fetch(`${gh.api}/repos/acme/app/releases/latest`)).json()) as {
      assets: Array<{ name: string; browser_download_url: string }>;
    };
    expect(latest.assets.map((a) => a.name)).toEqual(["manifest.json"]);
    expect(await (await fetch(latest.assets[0]!.browser_download_url)).text()).toBe("two");
  });

  it("says why it failed: a refused token, a bad repository name", async () => {
    await expect(
      publishGitHub({ api: gh.api, repo: "acme/app", token: "nope", tag: "v2", envelope: Buffer.from("x") }),
    ).rejects.toThrow(/HTTP 401 Bad credentials \(the token was refused\)/);
    await expect(
      publishGitHub({ api: gh.api, repo: "acme", token: "writer", tag: "v2", envelope: Buffer.from("x") }),
    ).rejects.toThrow(GitHubPublishError);
  });
});
