/**
 * The micropython_ota drop-in (device/micropython_ota.py) on virtual boards against a static server in
 * that library's layout: legacy app code, unchanged, updating through mpota's A/B slots.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { devicePackage, sameTree, slotTree } from "../../testing/board.ts";
import { gitBoard, spreadCuts } from "../../testing/git-board.ts";
import { type MicropythonOtaServer, serveMicropythonOta } from "../../testing/micropython-ota-server.ts";
import { deviceTracker, scaled } from "../../testing/sim.ts";
import { currentState } from "../client/state-record.ts";
import { writeMicropythonOta } from "../sources/micropython-ota.ts";

const DROP_IN = readFileSync(new URL("../../device/micropython_ota.py", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "mpota-mota-dev-"));
let server: MicropythonOtaServer;

/** A legacy app: what a micropython_ota user's main.py looks like, plus a line saying what runs. */
function legacyMain(label: string, call: string) {
  return `import micropython_ota, mpota
# ${label}
print("running " + mpota.status()["version"])
${call}
print("after ota")
`;
}
const FILES = '["main.py", "lib/util.py"]';
const updateCall = (extra = "") =>
  `micropython_ota.ota_update(HOST, "sample", ${FILES}, user="dev", passwd="pw", timeout=5${extra})`;

function release(version: string, call: string, util = `VERSION = ${JSON.stringify(version)}\n`) {
  return { "main.py": `HOST = "@HOST@"\n${legacyMain(version, call)}`, "lib/util.py": util };
}
const withHost = (files: Record<string, string>) =>
  Object.fromEntries(Object.entries(files).map(([p, d]) => [p, d.replace("@HOST@", server.url)]));

function boardFiles(version: string, app: Record<string, string>) {
  const slot = { ...devicePackage(), "lib/micropython_ota.py": DROP_IN, ...withHost(app) };
  return gitBoard(slot, version, undefined);
}

const boards = deviceTracker();
const board = (files: Record<string, Uint8Array | string>) => boards.device({ files });
afterEach(boards.closeAll);

beforeAll(async () => {
  server = await serveMicropythonOta(root, { user: "dev", passwd: "pw" });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const publish = (version: string, files: Record<string, string>, useVersionPrefix = true) =>
  writeMicropythonOta(root, { project: "sample", version, files: withHost(files), useVersionPrefix });

describe("micropython_ota drop-in", () => {
  it("installs the server's version through the A/B slots, resets, and keeps it once it runs again", async () => {
    const v2 = release("v1.0.1", updateCall());
    publish("v1.0.1", v2);
    const device = board(boardFiles("v1.0.0", release("v1.0.0", updateCall())));
    const n = server.requests.length;
    const run = await device.run({ maxReboots: 2 });
    expect(run.output).toContain("running v1.0.0");
    expect(run.output).toContain("Hard-resetting device...");
    expect(run.output).toContain("running v1.0.1");
    expect(run.output.trim().split("\n").at(-1)).toBe("after ota");
    const files = device.files();
    // The new release runs, confirmed by reaching ota_update() again; the listed files came from the
    // server, the rest (mpota, the drop-in itself) from the running release.
    expect(currentState(files)).toMatchObject({ slot: 1, state: "good", versions: ["v1.0.0", "v1.0.1"] });
    expect(
      sameTree(slotTree(files, 1), {
        ...devicePackage(),
        "lib/micropython_ota.py": DROP_IN,
        ...withHost(v2),
      }),
    ).toBe(true);
    const paths = server.requests.slice(n).map((r) => `${r.status} ${r.url}`);
    expect(paths).toEqual([
      "200 /sample/version",
      "200 /sample/v1.0.1_lib/util.py",
      "200 /sample/v1.0.1_main.py",
      "304 /sample/version",
    ]);
  });

  it("changes nothing when a listed file is missing, and says so as the library does", async () => {
    publish("v1.0.2", { "main.py": "print('half a release')\n" });
    const device = board(boardFiles("v1.0.1", release("v1.0.1", updateCall())));
    const run = await device.run({ maxReboots: 1 });
    expect(run.output).toMatch(
      /Remote source file http:\/\/127\.0\.0\.1:\d+\/sample\/v1\.0\.2_lib\/util\.py not found/,
    );
    expect(run.output).toContain("after ota");
    expect(currentState(device.files())).toMatchObject({ slot: 0, versions: ["v1.0.1", null] });
  });

  it("reports a wrong password, and raises for a user without a password (as the library)", async () => {
    const device = board(
      boardFiles("v1.0.0", {
        "main.py": `import micropython_ota
micropython_ota.ota_update("${server.url}", "sample", ["main.py"], user="dev", passwd="nope")
try:
    micropython_ota.ota_update("${server.url}", "sample", ["main.py"], user="dev")
except ValueError as e:
    print("ValueError", e)
`,
      }),
    );
    const run = await device.run({ maxReboots: 0 });
    expect(run.output).toMatch(/Something went wrong: auth: .*HTTP 401/);
    expect(run.output).not.toContain("nope");
    expect(run.output).toContain("ValueError Either only user or pass given. None or both are required.");
  });

  it("check_for_ota_update resets when the server names another version; reset_device=False only installs", async () => {
    publish("v2.0.0", release("v2.0.0", updateCall(", reset_device=False")), false);
    writeMicropythonOta(root, {
      project: "plain",
      version: "v2.0.0",
      files: withHost(release("v2.0.0", "")),
      useVersionPrefix: false,
    });
    const device = board(
      boardFiles("v1.0.0", {
        "main.py": `import micropython_ota, mpota
print("running", mpota.status()["version"])
if mpota.status()["version"] == "v1.0.0":
    micropython_ota.ota_update("${server.url}", "plain", ["main.py", "lib/util.py"], use_version_prefix=False, user="dev", passwd="pw", reset_device=False)
    print("installed, no reset:", mpota.status()["next"])
    micropython_ota.check_for_ota_update("${server.url}", "sample", user="dev", passwd="pw")
`,
      }),
    );
    const run = await device.run({ maxReboots: 1 });
    expect(run.output).toContain("installed, no reset: v2.0.0");
    expect(run.output).toContain("Found new version v2.0.0, hard-resetting device...");
    expect(run.output).toContain("running v2.0.0");
  });

  it(
    "a power cut at any point of the update leaves the old or the new version, never a mix",
    async () => {
      const v1 = release("v1.0.0", updateCall());
      const v2 = release("v1.0.1", updateCall());
      publish("v1.0.1", v2);
      const files = boardFiles("v1.0.0", v1);
      const slotOf = (app: Record<string, string>) => ({
        ...devicePackage(),
        "lib/micropython_ota.py": DROP_IN,
        ...withHost(app),
      });
      const scenario = {
        name: "micropython_ota update",
        files,
        releases: { "v1.0.0": slotOf(v1), "v1.0.1": slotOf(v2) },
        allowed: ["v1.0.0", "v1.0.1"],
      };
      expect((await spreadCuts(scenario, "commit-on-close", 10)).failures).toEqual([]);
    },
    scaled(300_000),
  );
});
