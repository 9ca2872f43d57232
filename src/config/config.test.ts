import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Value from "typebox/value";
import { describe, expect, it } from "vitest";
import { runDeviceScript } from "../client/testkit.ts";
import { BAD_CONFIGS, GOOD_CONFIGS } from "./cases.ts";
import { ConfigError, completeConfig, configProblems, OtaConfig, readConfigFile } from "./index.ts";

/** Every config through device/mpota/config.py on a virtual board, in one run. */
async function deviceVerdicts(configs: unknown[]): Promise<{ problems: string[][]; completed: unknown[] }> {
  const script = [
    "import json",
    "from mpota import config",
    "with open('/cases.json') as f:",
    "    cases = json.loads(f.read())",
    "problems = [config.problems(c) for c in cases]",
    "completed = [config.complete(c) if not p else None for c, p in zip(cases, problems)]",
    "print(json.dumps({'problems': problems, 'completed': completed}))",
  ].join("\n");
  const { value } = await runDeviceScript(script, { "cases.json": JSON.stringify(configs) });
  return value as { problems: string[][]; completed: unknown[] };
}

describe("ota_config.json rules", () => {
  const good = Object.values(GOOD_CONFIGS);
  const bad = BAD_CONFIGS.map((c) => c.config);

  it("host and device give the same messages for every config in the table", async () => {
    const device = await deviceVerdicts([...good, ...bad]);
    for (const [i, name] of Object.keys(GOOD_CONFIGS).entries()) {
      expect([name, configProblems(good[i])]).toEqual([name, []]);
      expect([name, device.problems[i]]).toEqual([name, []]);
    }
    for (const [i, c] of BAD_CONFIGS.entries()) {
      expect([c.name, configProblems(c.config)]).toEqual([c.name, c.messages]);
      expect([c.name, device.problems[good.length + i]]).toEqual([c.name, c.messages]);
    }
  });

  it("both fill in the same defaults (the device also sets absent optional fields to None)", async () => {
    const device = await deviceVerdicts(good);
    for (const [i, cfg] of good.entries()) {
      const host = completeConfig(cfg);
      const onDevice = device.completed[i] as Record<string, unknown>;
      const dropNull = (o: Record<string, unknown>): Record<string, unknown> =>
        Object.fromEntries(
          Object.entries(o)
            .filter(([, v]) => v !== null)
            .map(([k, v]) => [
              k,
              typeof v === "object" && !Array.isArray(v) ? dropNull(v as Record<string, unknown>) : v,
            ]),
        );
      expect(dropNull(onDevice)).toEqual(dropNull(host));
    }
    expect(completeConfig(GOOD_CONFIGS.minimal!)).toMatchObject({
      reset_mode: "hard",
      pin: null,
      trial: { max_boots: 3, watchdog_ms: 0, auto_confirm_s: 0 },
      timeout_s: 10,
      retries: 3,
      source: { channel: "stable" },
    });
  });

  it("the typebox schema accepts exactly what the rules accept, apart from the rules across fields", () => {
    for (const [name, cfg] of Object.entries(GOOD_CONFIGS))
      expect([name, Value.Check(OtaConfig, cfg)]).toEqual([name, true]);
    for (const c of BAD_CONFIGS)
      expect([c.name, Value.Check(OtaConfig, c.config)]).toEqual([c.name, !!c.crossField]);
  });

  it("a whole number written as 3.0 is a whole number on both sides", async () => {
    const text =
      '{"project":"p","keys":["' +
      "a".repeat(64) +
      '"],"source":{"type":"static","url":"http://h"},"retries":3.0}';
    const script = [
      "import json",
      "from mpota import config",
      "with open('/ota_config.json', 'w') as f:",
      `    f.write(${JSON.stringify(text)})`,
      "c = config.load()",
      "print(json.dumps([c['retries'], type(c['retries']) is int]))",
    ].join("\n");
    const { value } = await runDeviceScript(script);
    expect(value).toEqual([3, true]);
    expect(configProblems(JSON.parse(text))).toEqual([]);
  });

  it("the device reports a missing file, bad JSON and every wrong field as one config error", async () => {
    const script = [
      "import json",
      "from mpota import config",
      "from mpota.errors import UpdateError",
      "out = []",
      "for text in (None, '{\"project\": ', json.dumps({'project': 'P', 'keys': [], 'source': {'type': 'static'}})):",
      "    if text is not None:",
      "        with open('/ota_config.json', 'w') as f:",
      "            f.write(text)",
      "    try:",
      "        config.load()",
      "    except UpdateError as e:",
      "        out.append([e.code, e.message])",
      "print(json.dumps(out))",
    ].join("\n");
    const { value } = await runDeviceScript(script);
    const [missing, notJson, wrong] = value as string[][];
    expect(missing).toEqual(["config", "/ota_config.json not found on the board"]);
    expect(notJson![0]).toBe("config");
    expect(notJson![1]).toMatch(/^\/ota_config.json is not valid JSON/);
    expect(wrong).toEqual([
      "config",
      '/ota_config.json: "project" must be 1 to 64 characters a-z 0-9 . _ - starting with a letter or digit; ' +
        'missing "source.url"',
    ]);
  });
});

describe("config files", () => {
  const dir = mkdtempSync(join(tmpdir(), "mpota-config-"));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it("reads the same config from JSON, YAML and TOML", () => {
    const json = write("a.json", JSON.stringify(GOOD_CONFIGS.everything));
    const yaml = write(
      "a.yaml",
      [
        "project: greenhouse",
        "keys:",
        `  - "${(GOOD_CONFIGS.everything!.keys as string[])[0]}"`,
        `  - "${(GOOD_CONFIGS.everything!.keys as string[])[1]}"`,
        "source: { type: static, url: 'https://ota.example/site/', channel: beta-2 }",
        "reset_mode: soft",
        "pin: 1.2.3-rc.1",
        "trial: { max_boots: 5, watchdog_ms: 30000, auto_confirm_s: 60 }",
        "timeout_s: 30",
        "retries: 0",
        "ca: /certs/ca.pem",
        "wifi: { ssid: lab, password: '' }",
        "signed_pointer: true",
      ].join("\n"),
    );
    const toml = write(
      "a.toml",
      [
        'project = "greenhouse"',
        `keys = ${JSON.stringify(GOOD_CONFIGS.everything!.keys)}`,
        'reset_mode = "soft"',
        'pin = "1.2.3-rc.1"',
        "timeout_s = 30",
        "retries = 0",
        'ca = "/certs/ca.pem"',
        "signed_pointer = true",
        "[source]",
        'type = "static"',
        'url = "https://ota.example/site/"',
        'channel = "beta-2"',
        "[trial]",
        "max_boots = 5",
        "watchdog_ms = 30000",
        "auto_confirm_s = 60",
        "[wifi]",
        'ssid = "lab"',
        'password = ""',
      ].join("\n"),
    );
    expect(readConfigFile(json)).toEqual(GOOD_CONFIGS.everything);
    expect(readConfigFile(yaml)).toEqual(GOOD_CONFIGS.everything);
    expect(readConfigFile(toml)).toEqual(GOOD_CONFIGS.everything);
  });

  it("names the file, the parser's position and every wrong field", () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).message;
      }
      throw new Error("no error");
    };
    expect(err(() => readConfigFile(write("b.yaml", "project: [unclosed")))).toMatch(
      /b\.yaml: not valid YAML \(.+\)/,
    );
    expect(err(() => readConfigFile(write("b.toml", "project = ")))).toMatch(
      /b\.toml: not valid TOML \(.+\)/,
    );
    expect(err(() => readConfigFile(write("b.json", "{")))).toMatch(/b\.json: not valid JSON \(.+\)/);
    expect(err(() => readConfigFile(write("b.ini", "")))).toMatch(
      /must end in \.json, \.yaml, \.yml or \.toml/,
    );
    expect(err(() => readConfigFile(join(dir, "absent.json")))).toMatch(
      /absent\.json: cannot be read \(ENOENT\)/,
    );
    expect(
      err(() =>
        readConfigFile(write("c.toml", 'project = "p"\nkeys = []\nretries = 1.5\n[source]\ntype = "static"')),
      ),
    ).toBe(`${join(dir, "c.toml")}: missing "source.url"; "retries" must be a whole number from 0 to 20`);
  });
});
