/** File-system mistakes in any command: one `mpota: …` line naming the path and what to do, exit 2. */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { releaseWorkspace, runCli } from "../../testing/cli.ts";
import { ConfigError } from "../config/index.ts";
import { DemoFailure } from "../demo/index.ts";
import { MpotaError } from "../errors/index.ts";
import { ManifestError } from "../manifest/index.ts";
import { CliError, cliErrorOf, fileSystemError } from "./errors.ts";

const fsError = (code: string, syscall: string, path: string) =>
  Object.assign(new Error(`${code}: raw, ${syscall} '${path}'`), { code, syscall, path });

describe("cliErrorOf", () => {
  it("maps every MpotaError by its code, in one place", () => {
    const manifest = cliErrorOf(new ManifestError(["version: bad", "files[0].path: missing"]));
    expect([manifest?.message, manifest?.exitCode]).toEqual(["version: bad; files[0].path: missing", 2]);
    expect(cliErrorOf(new ConfigError("c.json", ['"project" is missing']))?.message).toBe(
      'c.json: "project" is missing',
    );
    const demo = cliErrorOf(new DemoFailure("the board stayed on 1.0.0"));
    expect([demo?.message, demo?.exitCode]).toEqual([
      "the demo did not go as expected: the board stayed on 1.0.0",
      1,
    ]);
    const own = new CliError("no such store", 3);
    expect(cliErrorOf(own)).toBe(own);
  });

  it("gives every host error a code and its class name", () => {
    const e = new ManifestError("x");
    expect([e instanceof MpotaError, e.code, e.name]).toEqual([true, "manifest", "ManifestError"]);
  });

  it("leaves a bug alone (it keeps its stack trace)", () => {
    expect(cliErrorOf(new TypeError("x is undefined"))).toBeUndefined();
  });
});

describe("fileSystemError", () => {
  it("names the path, what went wrong and what to do", () => {
    expect(fileSystemError(fsError("EACCES", "mkdir", "/srv/site"))?.message).toBe(
      "cannot create folder /srv/site: permission denied; pick a folder you can write to, or fix its permissions (EACCES)",
    );
    expect(fileSystemError(fsError("ENOSPC", "write", "/srv/a.z"))).toBeInstanceOf(CliError);
  });

  it("names the folder, not the temporary file of an atomic write", () => {
    expect(fileSystemError(fsError("EACCES", "open", "/srv/site/p/.tmp-a.json-0a1b2c"))?.message).toMatch(
      /^cannot open \/srv\/site\/p: /,
    );
  });

  it("leaves other errors alone (a bug keeps its stack trace)", () => {
    expect(fileSystemError(new Error("boom"))).toBeUndefined();
    expect(fileSystemError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBeUndefined();
  });
});

describe("file-system errors from the commands", () => {
  const ws = releaseWorkspace("mpota-cli-errors-");
  const mpota = (...args: string[]) => runCli(args, { cwd: ws.dir, timeoutMs: 30_000 });
  const FILE = "release.key"; // a path that is a file, not a folder

  afterAll(() => rmSync(ws.dir, { recursive: true, force: true }));
  beforeAll(async () => {
    ws.app("app", { "main.py": "print('hi')\n" });
    writeFileSync(
      join(ws.dir, "board.json"),
      JSON.stringify({
        project: "greenhouse",
        keys: [ws.key.publicKeyHex],
        source: { type: "static", url: "http://127.0.0.1:9/site", channel: "stable" },
      }),
    );
    const r = await mpota(...release("store"));
    expect(r.code).toBe(0);
  });

  const release = (out: string) => [
    "release",
    "app",
    "--project",
    "greenhouse",
    "--version",
    "1.0.0",
    "--key",
    "release.key",
    "--out",
    out,
  ];
  const publish = (site: string) => [
    "publish",
    "--store",
    "store",
    "--project",
    "greenhouse",
    "--channel",
    "stable",
    "--static",
    site,
  ];
  const bundle = (out: string) => [
    "device",
    "bundle",
    "--config",
    "board.json",
    "--store",
    "store",
    "--out",
    out,
  ];

  it.each([
    [
      "publish --static under /sys (EPERM)",
      publish("/sys/mpota-site"),
      /^mpota: cannot create folder \/sys\/mpota-site: .*\(EPERM\)\n$/,
    ],
    [
      "publish --static onto a file (ENOTDIR)",
      publish(`${FILE}/site`),
      /^mpota: cannot create folder release\.key\/site\/greenhouse\/blobs: part of the path is a file, not a folder; pick another path \(ENOTDIR\)\n$/,
    ],
    // Node's own recursive mkdir loops for ever under /proc
    [
      "publish --static under /proc (ENOENT, no endless loop)",
      publish("/proc/mpota-site"),
      /^mpota: cannot create folder \/proc\/mpota-site: .*\(ENOENT\)\n$/,
    ],
    [
      "release --out onto a file",
      release(`${FILE}/store`),
      /^mpota: cannot .* release\.key\/store.*\(ENOTDIR\)\n$/,
    ],
    [
      "release --out under /sys",
      release("/sys/mpota-store"),
      /^mpota: cannot create folder \/sys\/mpota-store: .*\(EPERM\)\n$/,
    ],
    [
      "device bundle --out under /sys",
      bundle("/sys/mpota-board"),
      /^mpota: cannot create folder \/sys\/mpota-board: .*\(EPERM\)\n$/,
    ],
    [
      "device bundle --out under a file",
      bundle(`${FILE}/board`),
      /^mpota: cannot create folder release\.key\/board: .*\(ENOTDIR\)\n$/,
    ],
    [
      "keygen --out under a file",
      ["keygen", "--out", `${FILE}/new.key`],
      /^mpota: cannot create folder release\.key: .*\(ENOTDIR\)\n$/,
    ],
    [
      "config --out under /sys",
      ["config", "board.json", "--out", "/sys/ota_config.json"],
      /^mpota: cannot open \/sys\/ota_config\.json: permission denied; .*\(EACCES\)\n$/,
    ],
  ])("%s", async (_name, args, stderr) => {
    const r = await mpota(...args);
    expect(r.stderr).toMatch(stderr);
    expect(r.code).toBe(2);
  });
});
