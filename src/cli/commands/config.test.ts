/** `mpota config` and `mpota device bundle`, run as a user would (child processes). */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildRelease, makeSigningKey, testApp } from "../../../testing/board.ts";
import { runCli } from "../../../testing/cli.ts";
import { currentState } from "../../client/state-record.ts";
import { buildRelease as buildStoreRelease } from "../../release/index.ts";
import { loadTree, VirtualDevice } from "../../sim/index.ts";
import { openStore } from "../../store/index.ts";

const mpota = (...args: string[]) => runCli(args, { timeoutMs: 30_000 });

const dir = mkdtempSync(join(tmpdir(), "mpota-cli-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

const key = makeSigningKey();
const CONFIG_YAML = `project: greenhouse
keys: ["${key.publicHex}"]
source:
  type: static
  url: http://127.0.0.1:9/site
  channel: stable
trial: { max_boots: 2 }
`;

describe("mpota config", () => {
  it("turns YAML into the board's ota_config.json", async () => {
    const out = join(dir, "ota_config.json");
    const r = await mpota("config", write("c.yaml", CONFIG_YAML), "--out", out);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(`wrote ${out}: project greenhouse, static source, 1 key\n`);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual({
      project: "greenhouse",
      keys: [key.publicHex],
      source: { type: "static", url: "http://127.0.0.1:9/site", channel: "stable" },
      trial: { max_boots: 2 },
    });
  });

  it("prints the config without --out, and one JSON line with --json", async () => {
    const file = write(
      "c.toml",
      `project = "p"\nkeys = []\n[source]\ntype = "micropython_ota"\nhost = "http://h"\nproject = "p"\nfilenames = ["main.py"]\n`,
    );
    const plain = await mpota("config", file);
    expect(JSON.parse(plain.stdout)).toMatchObject({ project: "p", source: { type: "micropython_ota" } });
    const json = await mpota("config", file, "--json");
    expect(JSON.parse(json.stdout)).toEqual({ out: null, config: JSON.parse(plain.stdout) });
  });

  it("a bad config is one line naming the file and every wrong field, exit code 2, nothing written", async () => {
    const out = join(dir, "never.json");
    const r = await mpota(
      "config",
      write("bad.toml", 'project = "p"\nretries = -1\n[source]\ntype = "static"\n'),
      "--out",
      out,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `mpota: ${join(dir, "bad.toml")}: missing "keys"; missing "source.url"; "retries" must be a whole number from 0 to 20\n`,
    );
    expect(() => readFileSync(out)).toThrow();
  });
});

describe("mpota config --from-ota", () => {
  const OLD = JSON.stringify({
    owner: "acme",
    repo: "greenhouse",
    ssid: "lab",
    password: "pw",
    channel: "developer",
    branch: "main",
    chunk: 512,
    cellular_enabled: true,
    cellular_apn: "iot.example",
    lora_enabled: true,
  });

  it("writes mpota's config and names each field it could not carry over", async () => {
    const out = join(dir, "from-ota.json");
    const r = await mpota("config", "--from-ota", write("old.json", OLD), "--out", out);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(
      `wrote ${out}: project greenhouse, github source, 0 keys\n` +
        "not carried over: chunk: mpota streams every download through one fixed 1 KB buffer\n" +
        "not carried over: lora_enabled: LoRa is a wake-up trigger in mpota, not a transport: call mpota.notify(version) from the app\n",
    );
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual({
      project: "greenhouse",
      keys: [],
      source: { type: "github", repo: "acme/greenhouse", branch: "main" },
      transports: [
        { type: "wlan", networks: [{ ssid: "lab", password: "pw" }] },
        { type: "ppp", uart: 1, tx: 4, rx: 5, baudrate: 115200, apn: "iot.example", cost_per_mb: 0.5 },
      ],
    });
    // What it wrote is a config `mpota config` accepts as it is.
    const again = await mpota("config", out, "--json");
    expect(JSON.parse(again.stdout).config).toEqual(JSON.parse(readFileSync(out, "utf8")));
  });

  it("prints the config on stdout and the notes on stderr without --out; --json carries both", async () => {
    const file = write("old2.json", OLD);
    const plain = await mpota("config", "--from-ota", file);
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ project: "greenhouse" });
    expect(
      plain.stderr
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(":")[1]!.trim()),
    ).toEqual(["chunk", "lora_enabled"]);
    const json = await mpota("config", "--from-ota", file, "--json");
    expect(JSON.parse(json.stdout)).toEqual({
      out: null,
      config: JSON.parse(plain.stdout),
      notCarried: [
        { field: "chunk", why: expect.any(String) },
        { field: "lora_enabled", why: expect.any(String) },
      ],
    });
  });

  it("bad input is one line naming what is wrong, exit code 2, nothing written", async () => {
    const out = join(dir, "never2.json");
    const notJson = write("broken.json", "{owner: acme");
    const r = await mpota("config", "--from-ota", notJson, "--out", out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^mpota: ${notJson}: not valid JSON \\(.+\\)\n$`));
    const wrong = write("wrong.json", JSON.stringify({ owner: "acme", repo: "g", chunk: "512", wifi: "x" }));
    const w = await mpota("config", "--from-ota", wrong, "--out", out);
    expect(w).toMatchObject({ code: 2, stdout: "" });
    expect(w.stderr).toBe(
      `mpota: ${wrong}: "chunk" must be a whole number; unknown field "wifi" (not one of the GitHub updater's)\n`,
    );
    const missing = await mpota("config", "--from-ota", join(dir, "nope.json"));
    expect(missing.stderr).toBe(
      `mpota: cannot open ${join(dir, "nope.json")}: no such file or folder (or it cannot be created here); check the path (ENOENT)\n`,
    );
    const both = await mpota("config", wrong, "--from-ota", wrong);
    expect(both).toMatchObject({ code: 2, stderr: "mpota: give either a config file or --from-ota FILE\n" });
    expect(existsSync(out)).toBe(false);
  });
});

describe("mpota device bundle", () => {
  const store = join(dir, "store");
  const app = testApp("1.0.0", { "lib/sensors/temp.py": "OFFSET = 1\n" });
  buildRelease(store, "greenhouse", "1.0.0", app, key);
  const configFile = write("bundle.yaml", CONFIG_YAML);
  /** `mpota device bundle` of the test config. */
  const bundle = (...args: string[]) => mpota("device", "bundle", "--config", configFile, ...args);

  it("writes loader, config, the first release in slot 0 with its envelope, and the state record; the board boots it", async () => {
    const out = join(dir, "board");
    const r = await bundle("--out", out, "--store", store, "--release", "1.0.0", "--json");
    expect(r.stderr).toBe("");
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ out, version: "1.0.0", files: Object.keys(app).length + 4 });
    const tree = loadTree(out);
    expect(Buffer.from(tree["boot.py"]!).toString()).toContain("mpota loader");
    expect(JSON.parse(Buffer.from(tree["ota_config.json"]!).toString()).project).toBe("greenhouse");
    expect(tree[".mpota/slot0.json"]).toEqual(readFileSync(join(store, "greenhouse/releases/1.0.0.json")));
    for (const [path, data] of Object.entries(app))
      expect(Buffer.from(tree[`.mpota/slot0/${path}`]!)).toEqual(Buffer.from(data));
    expect(currentState(tree)).toMatchObject({ slot: 0, state: "good", versions: ["1.0.0", null] });

    const device = new VirtualDevice({ files: tree, net: false });
    try {
      const run = await device.run();
      expect(run.output).toContain("running 1.0.0");
    } finally {
      await device.close();
    }
  });

  it("without a store it writes a bootstrap slot that installs the channel's release at first boot", async () => {
    const out = join(dir, "bootstrap");
    const r = await bundle("--out", out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("a bootstrap slot that installs the channel's release");
    const tree = loadTree(out);
    expect(Buffer.from(tree[".mpota/slot0/main.py"]!).toString()).toContain("mpota.update()");
    expect(tree[".mpota/slot0/lib/mpota/__init__.py"]).toBeDefined();
    expect(currentState(tree)).toMatchObject({ versions: ["0.0.0", null] });
  });

  it("takes the newest release from a release store built by src/release (mpota release --out)", async () => {
    const appDir = join(dir, "app");
    for (const [path, data] of Object.entries(testApp("2.0.0"))) {
      mkdirSync(dirname(join(appDir, path)), { recursive: true });
      writeFileSync(join(appDir, path), data);
    }
    const releaseStore = openStore(join(dir, "release-store"));
    await buildStoreRelease({
      dir: appDir,
      project: "greenhouse",
      version: "2.0.0",
      key,
      store: releaseStore,
    });
    const out = join(dir, "from-store");
    const r = await bundle("--out", out, "--store", releaseStore.root);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("release 2.0.0 in slot 0");
    const tree = loadTree(out);
    expect(tree[".mpota/slot0.json"]).toEqual(releaseStore.readRelease("greenhouse", "2.0.0").bytes);
    const device = new VirtualDevice({ files: tree, net: false });
    try {
      expect((await device.run()).output).toContain("running 2.0.0");
    } finally {
      await device.close();
    }
  });

  it("refuses a first release without main.py unless --no-main", async () => {
    const noMainStore = join(dir, "no-main-store");
    buildRelease(noMainStore, "greenhouse", "1.0.0", { "lib/a.py": "A = 1\n" }, key);
    const out = join(dir, "no-main");
    const refused = await bundle("--out", out, "--store", noMainStore, "--release", "1.0.0");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^mpota: release 1\.0\.0 has no main\.py, .*--no-main.*\n$/);
    expect(existsSync(out)).toBe(false);
    const asked = await bundle("--out", out, "--store", noMainStore, "--release", "1.0.0", "--no-main");
    expect(asked).toMatchObject({ code: 0, stderr: "" });
  });

  it("refuses a release not signed by a key of the config, a missing version, a folder in use, half options", async () => {
    const other = makeSigningKey();
    const otherConfig = write("other.yaml", CONFIG_YAML.replace(key.publicHex, other.publicHex));
    const bad = await mpota(
      "device",
      "bundle",
      "--config",
      otherConfig,
      "--out",
      join(dir, "b1"),
      "--store",
      store,
      "--release",
      "1.0.0",
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `mpota: release 1.0.0: the envelope is signed by key ${key.keyid}, which is not a trusted key\n`,
    );
    const missing = await bundle("--out", join(dir, "b2"), "--store", store, "--release", "9.9.9");
    expect(missing.stderr).toBe(
      `mpota: --store ${store}: no release 9.9.9 of greenhouse in ${store} (no ${join(store, "greenhouse/releases/9.9.9.json")})\n`,
    );
    const unnamed = await bundle("--out", join(dir, "b4"), "--store", store);
    expect(unnamed.stderr).toBe(
      `mpota: --store ${store}: ${store} is a static site: name the release to bundle\n`,
    );
    mkdirSync(join(dir, "used"));
    writeFileSync(join(dir, "used", "x"), "keep me");
    const used = await bundle("--out", join(dir, "used"));
    expect(used.stderr).toBe(
      `mpota: --out ${join(dir, "used")}: not an empty folder (nothing was written)\n`,
    );
    expect(readFileSync(join(dir, "used", "x"), "utf8")).toBe("keep me");
    const half = await bundle("--out", join(dir, "b3"), "--release", "1.0.0");
    expect(half.stderr).toBe("mpota: --release needs --store: the store or static site that holds it\n");
  });
});
