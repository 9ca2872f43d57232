import { describe, expect, it } from "vitest";
import { ConfigError, fromOta } from "./index.ts";

const FILE = "old/ota_config.json";

/** The problems fromOta refuses `value` with. */
function refusal(value: unknown): string[] {
  try {
    fromOta(value, FILE);
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.file).toBe(FILE);
      return err.problems;
    }
    throw err;
  }
  throw new Error("not refused");
}

/** The family's example config (README): a branch tip on Wi-Fi. */
const README_EXAMPLE = {
  owner: "acme",
  repo: "Green_House",
  ssid: "lab",
  password: "pw",
  channel: "developer",
  branch: "main",
  token: "",
  allow: ["README.md", "/lib/"],
  ignore: [],
  chunk: 512,
  connect_timeout_sec: 20,
  http_timeout_sec: 25,
  retries: 3,
  backoff_sec: 3,
  debug: false,
};

describe("mpota config --from-ota: the GitHub updater's ota_config.json", () => {
  it("carries the source, Wi-Fi and network settings over, naming what it could not", () => {
    const { config, notCarried } = fromOta(README_EXAMPLE, FILE);
    expect(config).toEqual({
      project: "green_house",
      keys: [],
      source: {
        type: "github",
        repo: "acme/Green_House",
        branch: "main",
        allow: ["README.md", "lib"],
        ignore: [],
      },
      timeout_s: 25,
      retries: 3,
      wifi: { ssid: "lab", password: "pw" },
    });
    expect(notCarried).toEqual([
      { field: "chunk", why: "mpota streams every download through one fixed 1 KB buffer" },
      {
        field: "backoff_sec",
        why: "mpota backs off by itself: exponential from 1 s, with jitter, at most 60 s",
      },
    ]);
  });

  it("stable follows the latest release (or its tag); a branch there is named as unused", () => {
    const { config, notCarried } = fromOta(
      { owner: "acme", repo: "gh", channel: "stable", branch: "dev", tag: "v2", token: "ghp_x" },
      FILE,
    );
    expect(config.source).toEqual({ type: "github", repo: "acme/gh", tag: "v2", token: "ghp_x" });
    expect(notCarried).toEqual([
      {
        field: "branch",
        why: "the stable channel follows the latest release; branch is for the developer channel",
      },
    ]);
  });

  it("cellular becomes a ppp transport after Wi-Fi; LoRa and the bandwidth choice are named", () => {
    const { config, notCarried } = fromOta(
      {
        owner: "acme",
        repo: "gh",
        wifi_ssid: "yard",
        wifi_password: "",
        wifi_timeout_sec: 15,
        cellular_enabled: true,
        cellular_apn: "iot.example",
        cellular_uart: 2,
        cellular_cost_per_mb: 0.8,
        cellular_tech: "lte-m",
        lora_enabled: true,
        lora_freq: 868000000,
      },
      FILE,
    );
    expect(config.transports).toEqual([
      { type: "wlan", networks: [{ ssid: "yard", password: "" }], timeout_s: 15 },
      { type: "ppp", uart: 2, tx: 4, rx: 5, baudrate: 115200, apn: "iot.example", cost_per_mb: 0.8 },
    ]);
    expect(config.wifi).toBeUndefined();
    expect(notCarried.map((n) => n.field)).toEqual(["cellular_tech", "lora_enabled", "lora_freq"]);
    expect(notCarried[1]!.why).toContain("mpota.notify(version)");
  });

  it("cellular without an APN, or with cellular_enabled off, is named instead of half-carried", () => {
    const { config, notCarried } = fromOta(
      { owner: "a", repo: "b", ssid: "lab", cellular_enabled: true, cellular_uart: 1 },
      FILE,
    );
    expect(config.transports).toBeUndefined();
    expect(config.wifi).toEqual({ ssid: "lab", password: "" });
    expect(notCarried).toEqual([
      {
        field: "cellular_enabled",
        why: "no cellular_apn: a cellular link needs the APN of the SIM's operator",
      },
      { field: "cellular_uart", why: "cellular_enabled is not true" },
    ]);
  });

  it("watchdog, status LED, battery gate and scheduling map to watchdog_ms, led, battery, schedule, log", () => {
    const { config, notCarried } = fromOta(
      {
        owner: "a",
        repo: "b",
        debug: true,
        watchdog_timeout_ms: 8000,
        status_led_pin: 25,
        battery_adc_pin: 28,
        battery_divider_ratio: 2,
        battery_v_max: 4.1,
        min_battery_percent: 25.5,
        update_scheduling: true,
        min_update_interval_sec: 7200,
        update_window_start_hour: 22,
        update_window_end_hour: 5,
        max_crashes_before_delay: 2,
        rollout_percent: 30,
        power_source: "solar",
        error_history_limit: 50,
      },
      FILE,
    );
    expect(config).toMatchObject({
      watchdog_ms: 8000,
      led: { pin: 25, active_low: false },
      log: "debug",
      battery: { adc_pin: 28, divider: 2, v_min: 3.0, v_max: 4.1, min_percent: 26 },
      schedule: {
        min_interval_s: 7200,
        defer_after_crashes: 2,
        window: { start_hour: 22, end_hour: 5, utc_offset_min: 0 },
        rollout_percent: 30,
      },
    });
    expect(notCarried.map((n) => `${n.field}: ${n.why}`)).toEqual([
      "error_history_limit: mpota keeps the last error (status()) and the releases that failed on the board",
      "power_source: the update window given takes the place of the solar hours",
    ]);
  });

  it("solar hours become the window; scheduling fields without update_scheduling are named", () => {
    const solar = fromOta({ owner: "a", repo: "b", update_scheduling: true, power_source: "solar" }, FILE);
    expect(solar.config.schedule).toEqual({
      min_interval_s: 3600,
      defer_after_crashes: 3,
      window: { start_hour: 10, end_hour: 16, utc_offset_min: 0 },
    });
    expect(solar.notCarried).toEqual([]);
    const off = fromOta({ owner: "a", repo: "b", rollout_percent: 10, battery_adc_pin: 26 }, FILE);
    expect(off.config.schedule).toBeUndefined();
    expect(off.config.battery).toBeUndefined();
    expect(off.notCarried).toEqual([
      { field: "battery_adc_pin", why: "a battery gate needs both battery_adc_pin and min_battery_percent" },
      { field: "rollout_percent", why: "update_scheduling is not true" },
    ]);
  });

  it("refuses what is not the family's config: not an object, wrong types, unknown fields, placeholders", () => {
    expect(refusal([1])).toEqual(["must hold a JSON object"]);
    expect(
      refusal({
        owner: "YOUR_GITHUB_USERNAME",
        repo: 7,
        channel: "nightly",
        allow: "lib",
        retries: 2.5,
        colour: "red",
      }),
    ).toEqual([
      '"repo" must be a string',
      '"allow" must be a list of strings',
      '"retries" must be a whole number',
      'unknown field "colour" (not one of the GitHub updater\'s)',
      '"owner" is still the placeholder YOUR_GITHUB_USERNAME',
      'missing "repo"',
      '"channel" must be "stable" or "developer"',
    ]);
  });

  it("a result mpota's own rules refuse is an error naming the rule, not a broken file", () => {
    expect(refusal({ owner: "a", repo: "b", http_timeout_sec: 900 })).toEqual([
      'converted, "timeout_s" must be a whole number of seconds from 1 to 600',
    ]);
    expect(refusal({ owner: "a b", repo: "c" })).toEqual([
      'converted, "source.repo" must be a repository name "owner/name"',
    ]);
  });
});
