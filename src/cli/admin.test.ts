/** The admin commands as a newcomer meets them: mistakes said in terms of what was typed. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../testing/cli.ts";
import { startTestServer, type TestServer, testKey, testRelease } from "../../testing/server.ts";
import { AdminClient, publishRelease } from "../server/admin-client.ts";
import { explainRefusal } from "./admin.ts";

describe("explainRefusal", () => {
  it("names what the user typed and the rule it breaks, not the schema", () => {
    const raw = 'GET /projects/p/rollouts/12: 400 params/id must match pattern "^[0-9a-f-]{36}$"';
    expect(explainRefusal(raw, { id: 'rollout id "12"' })).toBe(
      'rollout id "12": is not a rollout id (`npx mpota rollout list --project P` shows them)',
    );
    expect(
      explainRefusal('POST /projects: 400 body/name must match pattern "^[a-z0-9][a-z0-9._-]{0,63}$"'),
    ).toBe("name: is not a name mpota takes: a-z, 0-9, . _ - (up to 64; e.g. greenhouse)");
    expect(explainRefusal("POST /x: 400 body/steps/1 must be <= 100", { steps: "--steps" })).toBe(
      "--steps: must be <= 100",
    );
    expect(explainRefusal('POST /projects: 409 project "p" already exists')).toBe(
      'POST /projects: 409 project "p" already exists',
    );
  });
});

describe("admin commands against a live server", () => {
  let server: TestServer;
  let auth: string[];
  let rolloutId: string;
  const mpota = (...args: string[]) => runCli([...args, ...auth], { timeoutMs: 30_000 });

  beforeAll(async () => {
    server = await startTestServer("sqlite");
    const url = await server.app.listen({ port: 0, host: "127.0.0.1" });
    auth = ["--server", url, "--token", server.adminToken];
    const client = new AdminClient(url, server.adminToken);
    const key = testKey();
    await client.request("POST", "/projects", { name: "greenhouse" });
    await client.request("POST", "/projects", { name: "other" });
    await client.request("POST", "/projects/greenhouse/keys", { publicKey: key.publicKeyHex });
    for (const [version, channel] of [
      ["1.0.0", "stable"],
      ["1.1.0", undefined],
    ] as const) {
      const release = testRelease("greenhouse", version, { "main.py": `print("${version}")\n` }, key);
      await publishRelease(client, release.files, { project: "greenhouse", channel });
    }
    const started = await client.request<{ id: string }>("POST", "/projects/greenhouse/rollouts", {
      channel: "stable",
      version: "1.1.0",
      steps: [50, 100],
    });
    rolloutId = started.id;
  });
  afterAll(() => server.close());

  it("rollout show <id> finds the project itself", async () => {
    const r = await mpota("rollout", "show", rolloutId);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`${rolloutId}  stable: 1.0.0 → 1.1.0  running at 50%`);
    const unknown = await mpota("rollout", "show", "00000000-0000-0000-0000-000000000000");
    expect(unknown.stderr).toMatch(
      /^mpota: no rollout 00000000-0000-0000-0000-000000000000 on http:\/\/127\.0\.0\.1:\d+ \(/,
    );
    expect(unknown.code).toBe(2);
  });

  it("says what was typed wrong instead of the server's schema text", async () => {
    const bad = await mpota("rollout", "show", "12", "--project", "greenhouse");
    expect(bad).toMatchObject({
      code: 2,
      stderr:
        'mpota: rollout id "12": is not a rollout id (`npx mpota rollout list --project P` shows them)\n',
    });
    const name = await mpota("project", "add", "Green House");
    expect(name.stderr).toBe(
      'mpota: project name "Green House": is not a name mpota takes: a-z, 0-9, . _ - (up to 64; e.g. greenhouse)\n',
    );
    const version = await mpota("rollout", "start", "--project", "greenhouse", "--release", "1.2");
    expect(version.stderr).toBe('mpota: --release "1.2": is not a semver version (e.g. 1.2.0)\n');
  });
});

describe("help and option mistakes", () => {
  const mpota = (...args: string[]) => runCli(args, { timeoutMs: 30_000 });

  it("an unknown option is reported as such, with the nearest known one, not as a missing option", async () => {
    const r = await mpota("publish", "--projct", "greenhouse", "--store", "store", "--static", "site");
    expect(r).toMatchObject({
      code: 2,
      stderr: "mpota: unknown option '--projct'; did you mean --project?\n",
    });
  });

  it("help marks required options and writes defaults one way", async () => {
    const r = await mpota("rollout", "start", "--help");
    expect(r.stdout).toMatch(/--project <name> +project \(required\)/);
    expect(r.stdout).toMatch(/--channel <name> +channel \(default: stable\)/);
    expect(r.stdout).toMatch(/--steps <list> +percentages of devices per step \(default: 1,10,50,100\)/);
    expect(r.stdout).not.toMatch(/default: "|\(default [^:]/);
    const show = await mpota("rollout", "show", "--help");
    expect(show.stdout).toMatch(/--project <name> +project \(default: the one that has the rollout\)/);
  });

  it("bench --list lists what bench --help points at", async () => {
    expect((await mpota("bench", "--help")).stdout).toContain("(see --list)");
    const list = await mpota("bench", "--list");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ {2}sim: virtual device/m);
    const unknown = await mpota("bench", "nope");
    expect(unknown.stderr).toMatch(
      /^mpota: unknown benchmark "nope"; known: sim, .* \(--list says what each measures\)\n$/,
    );
  });
});
