/**
 * `mpota serve --demo` as a person runs it (`npm start`): the real CLI in a child process prints the
 * URL, serves the dashboard, and exits 0 on Ctrl-C (SIGINT). Bad demo flags are one-line errors.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = resolve(import.meta.dirname, "../../bin/mpota.js");
const data = mkdtempSync(join(tmpdir(), "mpota-fleet-cli-"));
afterAll(() => rmSync(data, { recursive: true, force: true }));

describe("mpota serve --demo", () => {
  it("prints the URL, serves the dashboard, and exits 0 on SIGINT", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--demo", "--data", data, "--port", "0", "--demo-devices", "2", "--demo-interval", "1"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    const url = await new Promise<string>((found, fail) => {
      const timer = setTimeout(() => fail(new Error(`no URL line within 20 s:\n${out}\n${err}`)), 20_000);
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const m = /^mpota server on (http:\/\/127\.0\.0\.1:\d+) /m.exec(out);
        if (m) {
          clearTimeout(timer);
          found(m[1]!);
        }
      });
    });
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>mpota update server</title>");
    // Let the boards check in once, then stop it as Ctrl-C does.
    const deadline = Date.now() + 20_000;
    while (!/demo: 2 boards checked in/.test(out) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/admin token \(shown once, keep it safe\):\n {2}mpa_/);
    expect(out).toMatch(/Ctrl-C stops the demo fleet and the server/);
    expect(out).toMatch(/demo: 2 boards checked in: all on 1\.0\.0/);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopping the demo fleet and the server…\n$/);
    expect(err).toBe("");
  }, 40_000);

  it("refuses demo flags without --demo and out-of-range counts, in one line", () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, "serve", ...args], { encoding: "utf8" });
    const without = run("--demo-devices", "3");
    expect(without.status).toBe(2);
    expect(without.stderr.trim()).toMatch(/^[^\n]*--demo-devices goes with --demo$/);
    const many = run("--demo", "--demo-devices", "500");
    expect(many.status).not.toBe(0);
    expect(many.stderr.trim()).toMatch(/^[^\n]*--demo-devices must be a whole number 1…50$/);
    const json = run("--demo", "--json");
    expect(json.status).toBe(2);
    expect(json.stderr.trim()).toMatch(/^[^\n]*leave out --json$/);
  });
});
