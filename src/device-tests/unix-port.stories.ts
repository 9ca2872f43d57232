/**
 * The device suite's key stories on a real MicroPython: the 32-bit unix port (`npm run test:unix --
 * --micropython PATH`; the binary's path comes in MPOTA_MICROPYTHON). Boards are set up as `mpota
 * device bundle` does, with the mpota package as releases ship it (.mpy, sources in py/), from a static
 * site on loopback, and boot with a capped heap (STORY_HEAP_KB) as a small board would.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildRelease,
  COMMAND_PY,
  makeSigningKey,
  printed,
  serveStatic,
  staticFixture,
} from "../../testing/board.ts";
import {
  boardState,
  bootUnixPort,
  leaveCommand,
  RESET_EXIT,
  type UnixBoot,
  writeBoard,
} from "../../testing/unix-port.ts";
import { shippedMpotaPackage } from "../client/bundle.ts";

const BINARY = process.env.MPOTA_MICROPYTHON;
if (!BINARY)
  throw new Error(
    "set MPOTA_MICROPYTHON to a MicroPython unix-port binary (npm run test:unix -- --micropython PATH)",
  );

/** The heap the stories boot with: above what `mpota bench heap` measures, below a plain ESP32's. */
const STORY_HEAP_KB = 96;

const fixture = staticFixture(serveStatic);
const boards: string[] = [];
let pkg: Record<string, Uint8Array>;

/** The test app at `version`: prints what runs, then carries out /data/cmd (COMMAND_PY). */
function app(version: string, extra: Record<string, string> = {}): Record<string, Uint8Array | string> {
  const main = `import mpota, json, os\nprint("running ${version}")\n${COMMAND_PY}`;
  return { ...pkg, "main.py": main, "lib/sensors.py": "OFFSET = 1\n", ...extra };
}

/** A board on 1.0.0 following `channel`, as a folder. */
function boardOn(channel: string): string {
  const dir = writeBoard(fixture.boardFiles(fixture.config(channel), "1.0.0"));
  boards.push(dir);
  return dir;
}

/** One boot of `board` with `cmd` left for the app (none: a plain boot); heapKB null: the binary's default. */
async function boot(board: string, cmd?: string, heapKB: number | null = STORY_HEAP_KB): Promise<UnixBoot> {
  if (cmd) leaveCommand(board, cmd);
  const result = await bootUnixPort(BINARY!, board, { heapKB: heapKB ?? undefined, timeoutMs: 120_000 });
  expect(result.timedOut).toBe(false);
  expect(result.memoryError, result.output).toBe(false);
  return result;
}

beforeAll(async () => {
  pkg = await shippedMpotaPackage();
  await fixture.start();
  fixture.release("1.0.0", app("1.0.0"));
  fixture.release("1.1.0", app("1.1.0", { "lib/sensors.py": "OFFSET = 2\n" }));
  fixture.release("1.2.0", app("1.2.0", { "boot_check.py": "raise ImportError('no sensor on bus 2')\n" }), {
    hooks: { post_update: "boot_check.py" },
  });
  fixture.release("0.9.0", app("0.9.0"));
  // Signed by a key the boards do not trust.
  buildRelease(fixture.site, fixture.project, "1.5.0", app("1.5.0"), makeSigningKey());
  for (const [channel, version] of Object.entries({
    same: "1.0.0",
    stable: "1.1.0",
    broken: "1.2.0",
    old: "0.9.0",
    forged: "1.5.0",
  }))
    fixture.publish(channel, version);
});

afterAll(async () => {
  for (const dir of boards) rmSync(dir, { recursive: true, force: true });
  await fixture.close();
});

describe(`on the unix port, in ${STORY_HEAP_KB} KB of heap`, () => {
  it("no update: the check finds nothing and writes nothing to the slots", async () => {
    const board = boardOn("same");
    const r = await boot(board, "check");
    expect(r.code).toBe(0);
    expect(printed(r.output, "check")).toEqual({ ok: true, version: "1.0.0", available: null });
    expect(boardState(board)).toMatchObject({ slot: 0, state: "good", versions: ["1.0.0", null] });
  });

  it("updates to 1.1.0, boots it on trial and confirms it", async () => {
    const board = boardOn("stable");
    const r = await boot(board, "update");
    expect(r.code).toBe(RESET_EXIT);
    expect(boardState(board)).toMatchObject({ slot: 1, state: "trial", versions: ["1.0.0", "1.1.0"] });
    expect(readFileSync(join(board, ".mpota/slot1/lib/sensors.py"), "utf8")).toBe("OFFSET = 2\n");
    const c = await boot(board, "confirm");
    expect(c.output).toContain("running 1.1.0");
    expect(printed(c.output, "confirm")).toEqual({ ok: true, version: "1.1.0" });
    expect(boardState(board)).toMatchObject({ slot: 1, state: "good", boots: 0 });
  });

  it("rolls back from the release on trial when the app asks", async () => {
    const board = boardOn("stable");
    expect((await boot(board, "update")).code).toBe(RESET_EXIT);
    const r = await boot(board, "rollback");
    expect(r.output).toContain("running 1.1.0");
    expect(r.code).toBe(RESET_EXIT);
    expect(boardState(board)).toMatchObject({ slot: 0, state: "good", failed: "1.1.0" });
    expect((await boot(board)).output).toContain("running 1.0.0");
  });

  it("the loader rolls back by itself from a release that crashes at start", async () => {
    const board = boardOn("broken");
    expect((await boot(board, "update")).code).toBe(RESET_EXIT);
    const crash = await boot(board);
    expect(crash.output).toContain("ImportError: no sensor on bus 2");
    expect(crash.code).toBe(RESET_EXIT);
    expect(boardState(board)).toMatchObject({ slot: 0, state: "good", failed: "1.2.0" });
    expect(boardState(board)?.why).toMatch(/^crashed: ImportError/);
    expect((await boot(board)).output).toContain("running 1.0.0");
  });

  it("refuses a release signed by an unknown key and an older release not signed as a rollback", async () => {
    for (const [channel, code, message] of [
      ["forged", "signature", /which this board does not trust$/],
      ["old", "version", /^0\.9\.0 is older than the running 1\.0\.0/],
    ] as const) {
      const board = boardOn(channel);
      const r = await boot(board, "update");
      expect(r.code).toBe(0);
      const result = printed(r.output, "update");
      expect(result).toMatchObject({ ok: false, error: { code } });
      expect(result.error.message).toMatch(message);
      expect(boardState(board)).toMatchObject({ slot: 0, state: "good", versions: ["1.0.0", null] });
    }
  });

  it("a firmware that cannot load the package's .mpy files still updates, from the sources in py/", async () => {
    const board = boardOn("stable");
    const lib = join(board, ".mpota/slot0/lib/mpota");
    // What a firmware with another .mpy format sees: "incompatible .mpy file".
    for (const name of readdirSync(lib))
      if (name.endsWith(".mpy")) writeFileSync(join(lib, name), Uint8Array.of(0x4d, 99, 0, 31));
    // Compiling the sources on the board needs more heap than running the .mpy files.
    const r = await boot(board, "update", null);
    expect(r.code).toBe(RESET_EXIT);
    expect(boardState(board)).toMatchObject({ slot: 1, state: "trial", versions: ["1.0.0", "1.1.0"] });
  });
});
