/** Helpers for tests of the CLI as a user runs it: a child process of bin/mpota.js, in a workspace. */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateKeyPair, privateKeyPem } from "../src/manifest/index.ts";
import { scaled } from "./sim.ts";

const BIN = resolve(import.meta.dirname, "../bin/mpota.js");

/**
 * Progress lines on a stderr that is not a terminal (src/cli/progress.ts), and the blank line that
 * ends them. They appear only when work lasts a while, i.e. on a busy machine, so they are left out
 * of the stderr a test sees: no test depends on the machine's speed.
 */
const PROGRESS_LINES = /^[a-z]+ \[[=-]+\] \d+\/\d+.*\n(?:\n)?/gm;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `mpota ...args` in `cwd`, with `env` added to this process's; resolves (never rejects) when it
 * exits or after `timeoutMs` (scaled to a busy machine).
 */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  const { cwd, env, timeoutMs = 60_000 } = options;
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, timeout: scaled(timeoutMs), env: env && { ...process.env, ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        done({ code, stdout, stderr: stderr.replace(PROGRESS_LINES, "") });
      },
    );
  });
}

/**
 * A throwaway folder holding release.key (a new signing key, mode 600); `app(name, files)` writes the
 * app folder `name` in it.
 */
export function releaseWorkspace(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const key = generateKeyPair();
  writeFileSync(join(dir, "release.key"), privateKeyPem(key), { mode: 0o600 });
  const app = (name: string, files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, path, ".."), { recursive: true });
      writeFileSync(join(dir, name, path), text);
    }
  };
  return { dir, key, app };
}
