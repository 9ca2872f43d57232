/** The real demo: releases, a site on 127.0.0.1 and a virtual board, checked line by line. */
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { runCli } from "../../testing/cli.ts";
import { DemoFailure, runDemo } from "./index.ts";

const demoDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith("mpota-demo-site-"));

async function demo(
  options: Parameters<typeof runDemo>[1] = {},
): Promise<{ lines: string[]; error?: unknown }> {
  const lines: string[] = [];
  try {
    await runDemo((line) => lines.push(stripVTControlCharacters(line)), options);
    return { lines };
  } catch (error) {
    return { lines, error };
  }
}

/** Where `text` first occurs in the lines (-1 if nowhere). */
const at = (lines: string[], text: string) => lines.findIndex((line) => line.includes(text));

describe("mpota demo", () => {
  it("tells the story: 1.0.0, an update to 1.1.0 it confirms, a broken 1.2.0 rolled back", async () => {
    const before = demoDirs();
    const { lines, error } = await demo();
    expect(error).toBeUndefined();
    const order = [
      "main.py is the only file that changed; the store keeps a delta patch from 1.0.0",
      "board │ greenhouse 1.0.0 starting on",
      "board │ update: {'version': '1.0.0', 'ok': True, 'installed': None}",
      "board │ greenhouse 1.0.0 starting on",
      'site  │ sent channel "stable" pointer and release 1.1.0 update pack (signed manifest and changed files)',
      "board │ greenhouse 1.1.0 starting on",
      "humidity 56 %  dew point",
      "the channel pointer and one update pack: the signed manifest as a patch of 1.0.0's and every changed file",
      "1.1.0 is now the good release",
      'site  │ sent channel "stable" pointer and release 1.2.0 update pack (signed manifest and changed files)',
      "board │ greenhouse 1.2.0 starting on",
      "board │ AttributeError: module 'lib.sensors' has no attribute 'read_pressure'",
      "the loader put 1.1.0 back on its own",
      "mpota.status() says: version 1.1.0 (good), failed 1.2.0",
      `why "crashed: AttributeError`,
    ];
    // Each piece in the order of the story (prose is wrapped: compare with whitespace collapsed).
    const text = lines.join("\n").replace(/\s+/g, " ");
    let from = 0;
    const missing: string[] = [];
    for (const piece of order) {
      const i = text.indexOf(piece.replace(/\s+/g, " "), from);
      if (i < 0) missing.push(piece);
      else from = i;
    }
    expect(missing).toEqual([]);
    // After the rollback 1.1.0 runs again and does not install 1.2.0 a second time.
    const last = lines.slice(at(lines, "board │ AttributeError"));
    expect(last.filter((l) => l.includes("board │ greenhouse 1.1.0 starting on"))).toHaveLength(1);
    expect(last.some((l) => l.includes("board │ greenhouse 1.2.0"))).toBe(false);
    expect(lines.at(-1)).toMatch(/^Done in \d+\.\d s: 1\.0\.0 → 1\.1\.0 \(confirmed\) → 1\.2\.0 \(crashed/);
    expect(demoDirs()).toEqual(before);
  });

  it("fails with a clear message when the board does not roll back", async () => {
    const before = demoDirs();
    const { lines, error } = await demo({ broken: "dew-point" }); // a 1.2.0 that works
    expect(error).toBeInstanceOf(DemoFailure);
    expect((error as Error).message).toBe(
      "broken 1.2.0: the board should have started 1.1.0, then 1.2.0, then 1.1.0, but started 1.1.0, then 1.2.0",
    );
    expect(lines.some((l) => l.startsWith("Done"))).toBe(false);
    expect(demoDirs()).toEqual(before);
  });

  it("runs as `mpota demo` and exits 0", async () => {
    const run = await runCli(["demo"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = stripVTControlCharacters(run.stdout).trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/^Done in .*→ 1\.1\.0, all on this machine; nothing left behind\.$/);
  });
});
