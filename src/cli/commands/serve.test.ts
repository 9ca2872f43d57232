/** `mpota serve` refusing what it cannot use, run as a user would (child processes). */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../../testing/cli.ts";

const cwd = mkdtempSync(join(tmpdir(), "mpota-cli-serve-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const serve = (...args: string[]) => runCli(["serve", "--port", "0", ...args], { cwd, timeoutMs: 30_000 });

describe("mpota serve --db", () => {
  it.each([
    [
      "postgres:/oops",
      /^mpota: --db postgres:\/oops: not a database mpota can use \(did you mean postgres:\/\/.*\)/,
    ],
    [
      "mysql://root:pw@127.0.0.1/db",
      /^mpota: --db mysql:\/\/root:\*\*\*@127\.0\.0\.1\/db: not a database mpota can use; give a SQLite file path, sqlite:PATH, or postgres:\/\//,
    ],
  ])("refuses %s and makes no SQLite file of it", async (db, stderr) => {
    const r = await serve("--db", db);
    expect(r.stderr).toMatch(stderr);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.code).toBe(2);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("says a refused PostgreSQL connection is a connection failure", async () => {
    const r = await serve("--db", "postgres://nobody:secret@127.0.0.1:1/none");
    expect(r.stderr).toMatch(
      /^mpota: cannot start the server: cannot connect to PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: .*ECONNREFUSED.*\n$/,
    );
    expect(r.stderr).not.toContain("secret");
    expect(r.code).toBe(2);
  });

  it("names an unusable --data folder in one line", async () => {
    const r = await serve("--data", "/proc/mpota-data");
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(/^mpota: cannot create folder \/proc\/mpota-data: .*\(ENOENT\)\n$/);
    expect(existsSync("/proc/mpota-data")).toBe(false);
  });
});
