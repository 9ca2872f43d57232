/** `mpota sim run`, the stable CLI over the virtual device, run as a user would (a child process). */
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type CliRun, runCli } from "../../testing/cli.ts";
import { closeServer, listenLoopback } from "../../testing/sim.ts";
import { loadTree } from "./index.ts";

async function mpota(...args: string[]): Promise<CliRun & { lines: string[] }> {
  const run = await runCli(args, { timeoutMs: 30_000 });
  return { ...run, lines: run.stdout.split("\n").filter(Boolean) };
}

const FIGURES = [
  "ok",
  "reboots",
  "flashOps",
  "flashBytesWritten",
  "netBytesIn",
  "netBytesOut",
  "heapAllocated",
  "error",
];

const tempDirs: string[] = [];
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mpota-cli-"));
  tempDirs.push(dir);
  return dir;
}
function flashDir(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const writer = `
with open("out.txt", "w") as f:
    f.write("x" * 1000)
print("wrote")
`;

describe("mpota sim run", () => {
  it("prints the device output, ends with the JSON figures, and writes the flash back", async () => {
    const fs = flashDir({ "boot.py": "print('boot')", "main.py": writer });
    const r = await mpota("sim", "run", "--fs", fs, "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines.slice(0, -1)).toEqual(["boot", "wrote"]);
    const figures = JSON.parse(r.lines.at(-1)!);
    expect(Object.keys(figures).sort()).toEqual([...FIGURES].sort());
    expect(figures).toMatchObject({
      ok: true,
      reboots: 0,
      flashOps: 3,
      flashBytesWritten: 1000,
      error: null,
    });
    expect(figures.netBytesIn).toBe(0);
    expect(figures.heapAllocated).toBeGreaterThan(0);
    expect(readFileSync(join(fs, "out.txt"), "utf8")).toBe("x".repeat(1000));
  });

  it("--dry-run leaves the folder as it was", async () => {
    const fs = flashDir({ "main.py": writer });
    const before = loadTree(fs);
    const r = await mpota("sim", "run", "--fs", fs, "--json", "--dry-run");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.lines.at(-1)!).flashBytesWritten).toBe(1000);
    expect(loadTree(fs)).toEqual(before);
  });

  it("runs SCRIPT.py after boot.py instead of main.py", async () => {
    const fs = flashDir({ "boot.py": "print('boot')", "main.py": "print('main')" });
    const script = join(tempDir(), "script.py");
    writeFileSync(script, "print('script', 2 ** 10)");
    const r = await mpota("sim", "run", "--fs", fs, script);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toEqual(["boot", "script 1024"]);
  });

  it("--cut-at and --flash model a power cut; --reboots bounds the reboot loop", async () => {
    const fs = flashDir({ "main.py": writer, "out.txt": "old" });
    const r = await mpota("sim", "run", "--fs", fs, "--json", "--flash", "commit-on-close", "--cut-at", "3");
    expect(r.code, r.stderr).toBe(0);
    // Boot 1 is cut before its close; boot 2 writes the file again (ops 4-6).
    expect(JSON.parse(r.lines.at(-1)!)).toMatchObject({ ok: true, reboots: 1, flashOps: 6 });
    expect(readFileSync(join(fs, "out.txt"), "utf8")).toBe("x".repeat(1000));

    const looping = flashDir({ "main.py": "import machine\nmachine.reset()" });
    const loop = await mpota("sim", "run", "--fs", looping, "--json", "--reboots", "2");
    expect(JSON.parse(loop.lines.at(-1)!)).toMatchObject({ ok: true, reboots: 2 });
  });

  it("--flash-size limits the flash", async () => {
    const fs = flashDir({ "main.py": writer });
    const r = await mpota("sim", "run", "--fs", fs, "--json", "--flash-size", "0");
    expect(r.code).toBe(1);
    const figures = JSON.parse(r.lines.at(-1)!);
    expect(figures).toMatchObject({ ok: false, error: "OSError: 28" });
  });

  it("gives the device loopback network only with --net", async () => {
    const server = createServer((_req, res) => res.end("pong"));
    const port = await listenLoopback(server);
    try {
      const fs = flashDir({
        "main.py": `
import socket
s = socket.socket()
s.connect(socket.getaddrinfo("localhost", ${port})[0][-1])
s.write(b"GET / HTTP/1.0\\r\\n\\r\\n")
print(s.read().split(b"\\r\\n\\r\\n")[1])
`,
      });
      const r = await mpota("sim", "run", "--fs", fs, "--json", "--net");
      expect(r.code, r.stderr).toBe(0);
      expect(r.lines[0]).toBe("b'pong'");
      const figures = JSON.parse(r.lines.at(-1)!);
      expect(figures.netBytesOut).toBe(18);
      expect(figures.netBytesIn).toBeGreaterThan(4);
      const offline = await mpota("sim", "run", "--fs", fs, "--json");
      expect(offline.code).toBe(1);
      expect(JSON.parse(offline.lines.at(-1)!)).toMatchObject({ ok: false, error: "OSError: -202" });
      expect(offline.stderr).toBe(
        "mpota: the board tried to reach localhost, but the virtual device has no network: add --net\n",
      );
    } finally {
      await closeServer(server);
    }
  });

  it("writes back only what the board changed: a run that changes nothing leaves links and modes", async () => {
    const fs = flashDir({ "main.py": "print('hello')" });
    const shared = join(tempDir(), "shared.py");
    writeFileSync(shared, "X = 1\n");
    symlinkSync(shared, join(fs, "shared.py"));
    writeFileSync(join(fs, "flash.sh"), "#!/bin/sh\n", { mode: 0o755 });
    const untouched = await mpota("sim", "run", "--fs", fs);
    expect(untouched).toMatchObject({ code: 0, stderr: "" });
    expect(lstatSync(join(fs, "shared.py")).isSymbolicLink()).toBe(true);
    expect(statSync(join(fs, "flash.sh")).mode & 0o777).toBe(0o755);
    writeFileSync(join(fs, "main.py"), writer);
    expect((await mpota("sim", "run", "--fs", fs)).code).toBe(0);
    expect(readFileSync(join(fs, "out.txt"), "utf8")).toBe("x".repeat(1000));
    expect(lstatSync(join(fs, "shared.py")).isSymbolicLink()).toBe(true);
    expect(statSync(join(fs, "flash.sh")).mode & 0o777).toBe(0o755);
  });

  it("reports a device exception with exit code 1", async () => {
    const fs = flashDir({ "main.py": "raise RuntimeError('broken app')" });
    const r = await mpota("sim", "run", "--fs", fs, "--json");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Traceback");
    expect(JSON.parse(r.lines.at(-1)!)).toMatchObject({ ok: false, error: "RuntimeError: broken app" });
    const plain = await mpota("sim", "run", "--fs", fs);
    expect(plain.stderr).toBe("device stopped: RuntimeError: broken app\n");
  });
});

describe("mpota sim run with bad arguments", () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      "a missing folder",
      ["--fs", "/nonexistent/mpota"],
      /^mpota: --fs \/nonexistent\/mpota: no such folder$/,
    ],
    ["a missing script", ["--fs", ".", "nope.py"], /^mpota: nope\.py: no such file$/],
    [
      "a folder with neither boot.py nor main.py",
      ["--fs", "."],
      /^mpota: --fs .* has neither boot\.py nor main\.py, so the board would run nothing; give a board's folder/,
    ],
    ["no --fs", [], /^mpota: required option '--fs <dir>' not specified$/],
    [
      "a bad flash model",
      ["--fs", ".", "--flash", "fat"],
      /^mpota: .*'--flash <model>'.*fat.*torn, commit-on-close/,
    ],
    ["a bad cut point", ["--fs", ".", "--cut-at", "x"], /^mpota: .*--cut-at must be a whole number/],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what} with one clear line and exit code 2`, async () => {
      const fs = tempDir();
      const r = await mpota("sim", "run", ...args.map((a) => (a === "." ? fs : a)));
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe("");
    });
  }
});
