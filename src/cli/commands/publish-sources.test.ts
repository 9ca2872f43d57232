/** `mpota publish --micropython-ota DIR` and `--github OWNER/REPO`, run as a user would (child processes). */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../testing/cli.ts";
import {
  createRepo,
  type GitHubEmulator,
  type ReleaseSpec,
  startGitHub,
} from "../../../testing/git-hosts/index.ts";
import { generateKeyPair } from "../../manifest/index.ts";
import { buildRelease } from "../../release/index.ts";
import { openStore } from "../../store/index.ts";

const mpota = (cwd: string, env: Record<string, string>, ...args: string[]) => runCli(args, { cwd, env });

const dir = mkdtempSync(join(tmpdir(), "mpota-cli-sources-"));
const repo = createRepo();
const releases: ReleaseSpec[] = [];
let gh: GitHubEmulator;
let envelope: Buffer;
const base = ["publish", "--store", "store", "--project", "greenhouse"];

beforeAll(async () => {
  mkdirSync(join(dir, "app/lib"), { recursive: true });
  writeFileSync(join(dir, "app/main.py"), "print(1)\n");
  writeFileSync(join(dir, "app/lib/util.py"), "U = 1\n");
  const store = openStore(join(dir, "store"));
  envelope = (
    await buildRelease({
      dir: join(dir, "app"),
      project: "greenhouse",
      version: "1.2.0",
      key: generateKeyPair(),
      store,
    })
  ).bytes;
  repo.commit({ "main.py": "print(1)\n" });
  gh = await startGitHub({ repos: { "acme/greenhouse": { repo, releases } }, tokens: ["writer"] });
});
afterAll(async () => {
  await gh.close();
  repo.close();
});

describe("mpota publish --micropython-ota", () => {
  it("writes the layout and says what boards pass to ota_update()", async () => {
    const r = await mpota(dir, {}, ...base, "--micropython-ota", "ota", "--tag", "v1.2.0");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ota_update(host, "greenhouse", ["lib/util.py","main.py"])');
    expect(readFileSync(join(dir, "ota/greenhouse/version"), "utf8")).toBe("v1.2.0\n");
    expect(readFileSync(join(dir, "ota/greenhouse/v1.2.0_lib/util.py"), "utf8")).toBe("U = 1\n");
    const json = await mpota(dir, {}, ...base, "--micropython-ota", "ota", "--no-version-prefix", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ target: "micropython_ota", tag: "1.2.0" });
    expect(readFileSync(join(dir, "ota/greenhouse/1.2.0/main.py"), "utf8")).toBe("print(1)\n");
  });

  it("refuses a channel (the layout has no pointer), and --static still needs one", async () => {
    const r = await mpota(dir, {}, ...base, "--micropython-ota", "ota", "--channel", "stable");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has no channel pointer/);
    const s = await mpota(dir, {}, ...base, "--static", "site");
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--static SITE needs --channel/);
  });
});

describe("mpota publish --github", () => {
  it("attaches the envelope to the release of v<version>, with the token from $GITHUB_TOKEN", async () => {
    const r = await mpota(
      dir,
      { GITHUB_TOKEN: "writer" },
      ...base,
      "--github",
      "acme/greenhouse",
      "--github-api",
      gh.api,
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("release v1.2.0: manifest.json attached (release created)");
    expect(releases.map((x) => x.tag)).toEqual(["v1.2.0"]);
    expect(Buffer.from(releases[0]!.assets!["manifest.json"] as Uint8Array).equals(envelope)).toBe(true);
    expect(r.stdout).not.toContain("writer");
  });

  it("fails clearly without a token or with a refused one", async () => {
    const none = await mpota(
      dir,
      { GITHUB_TOKEN: "" },
      ...base,
      "--github",
      "acme/greenhouse",
      "--github-api",
      gh.api,
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs a token/);
    const bad = await mpota(
      dir,
      {},
      ...base,
      "--github",
      "acme/greenhouse",
      "--github-api",
      gh.api,
      "--github-token",
      "nope",
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/HTTP 401/);
    expect(bad.stderr).not.toContain("nope");
  });
});
