/**
 * `mpota config --from-ota`: an ota_config.json of the GitHub updater family (kevinmcaleer/ota and its
 * forks: owner/repo, channel stable|developer, Wi-Fi, cellular, LoRa, watchdog, LED, battery and
 * scheduling fields) turned into mpota's config, with every field that could not be carried over named
 * with the reason. docs/migration.md has the same table in words.
 */
import { ConfigError } from "./load.ts";
import { configProblems } from "./rules.ts";

type Kind = "string" | "text or null" | "whole" | "number" | "boolean" | "strings" | "list";

/** Every field the family knows, with its JSON type. Anything else is refused by name. */
const KNOWN: Record<string, Kind> = {
  owner: "string",
  repo: "string",
  channel: "string",
  branch: "string",
  tag: "string",
  token: "text or null",
  allow: "strings",
  ignore: "strings",
  paths: "strings",
  ssid: "string",
  password: "text or null",
  wifi_ssid: "string",
  wifi_password: "text or null",
  wifi_enabled: "boolean",
  wifi_timeout_sec: "number",
  connect_timeout_sec: "number",
  http_timeout_sec: "number",
  retries: "whole",
  http_retries: "whole",
  backoff_sec: "number",
  max_backoff_sec: "number",
  chunk: "whole",
  debug: "boolean",
  watchdog_timeout_ms: "whole",
  status_led_pin: "whole",
  battery_adc_pin: "whole",
  battery_divider_ratio: "number",
  battery_v_min: "number",
  battery_v_max: "number",
  min_battery_percent: "number",
  update_scheduling: "boolean",
  min_update_interval_sec: "whole",
  update_window_start_hour: "whole",
  update_window_end_hour: "whole",
  max_crashes_before_delay: "whole",
  rollout_percent: "whole",
  power_source: "string",
  error_history_limit: "whole",
  cellular_enabled: "boolean",
  cellular_uart: "whole",
  cellular_tx_pin: "whole",
  cellular_rx_pin: "whole",
  cellular_baud: "whole",
  cellular_apn: "string",
  cellular_cost_per_mb: "number",
  cellular_tech: "string",
  lora_enabled: "boolean",
  lora_spi_pins: "list",
  lora_cs_pin: "whole",
  lora_rst_pin: "whole",
  lora_freq: "whole",
  min_free_mem: "whole",
  min_cpu_mhz: "whole",
  min_free_storage: "whole",
  enable_delta_updates: "boolean",
  stage_dir: "string",
  backup_dir: "string",
  user_agent: "string",
};

const WANTS: Record<Kind, string> = {
  string: "a string",
  "text or null": "a string or null",
  whole: "a whole number",
  number: "a number",
  boolean: "true or false",
  strings: "a list of strings",
  list: "a list",
};

const isKind = (v: unknown, kind: Kind): boolean => {
  if (kind === "string") return typeof v === "string";
  if (kind === "text or null") return v === null || typeof v === "string";
  if (kind === "whole") return typeof v === "number" && Number.isInteger(v);
  if (kind === "number") return typeof v === "number" && Number.isFinite(v);
  if (kind === "boolean") return typeof v === "boolean";
  if (kind === "strings") return Array.isArray(v) && v.every((s) => typeof s === "string");
  return Array.isArray(v);
};

/** Fields mpota has no place for, and why (one line each, as docs/migration.md lists them). */
const DROPPED: Record<string, string> = {
  chunk: "mpota streams every download through one fixed 1 KB buffer",
  backoff_sec: "mpota backs off by itself: exponential from 1 s, with jitter, at most 60 s",
  max_backoff_sec: "mpota backs off by itself: exponential from 1 s, with jitter, at most 60 s",
  cellular_tech: "mpota tries transports in the order listed, not by bandwidth",
  lora_enabled:
    "LoRa is a wake-up trigger in mpota, not a transport: call mpota.notify(version) from the app",
  lora_spi_pins: "the app drives its LoRa radio; mpota.notify(version) is the hook",
  lora_cs_pin: "the app drives its LoRa radio; mpota.notify(version) is the hook",
  lora_rst_pin: "the app drives its LoRa radio; mpota.notify(version) is the hook",
  lora_freq: "the app drives its LoRa radio; mpota.notify(version) is the hook",
  min_free_mem: "mpota's RAM use is bounded (an update within 64 KB of heap); there is no RAM gate",
  min_cpu_mhz: "mpota has no CPU clock gate",
  min_free_storage: "mpota checks the flash a release needs before writing anything",
  enable_delta_updates: "mpota uses a delta patch whenever a release carries one",
  stage_dir: "the A/B slots (/.mpota/slot0, slot1) replace the staging folder",
  backup_dir: "the A/B slots keep the previous release; there is no backup folder",
  user_agent: "mpota sends User-Agent: mpota to the Git hosts' APIs (GitHub requires one), no other",
  error_history_limit: "mpota keeps the last error (status()) and the releases that failed on the board",
};

export interface FromOtaResult {
  config: Record<string, unknown>;
  /** The fields that could not be carried over, each with the reason. */
  notCarried: Array<{ field: string; why: string }>;
}

/** A project name from the repository's (lower case, a-z 0-9 . _ -, at most 64 characters). */
function projectName(repo: string): string {
  const name = repo
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64);
  return name || "app";
}

/**
 * mpota's ota_config.json from one of the family's; ConfigError (for `file`) naming every field of the
 * wrong type, every unknown field, and whatever the result would break of mpota's own rules.
 */
export function fromOta(value: unknown, file: string): FromOtaResult {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ConfigError(file, ["must hold a JSON object"]);
  const old = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const [field, v] of Object.entries(old)) {
    const kind = KNOWN[field];
    if (!kind) problems.push(`unknown field "${field}" (not one of the GitHub updater's)`);
    else if (!isKind(v, kind)) problems.push(`"${field}" must be ${WANTS[kind]}`);
  }
  for (const field of ["owner", "repo"])
    if (typeof old[field] !== "string" || old[field] === "") problems.push(`missing "${field}"`);
    else if (/^YOUR_/.test(old[field] as string))
      problems.push(`"${field}" is still the placeholder ${old[field] as string}`);
  if (old.channel !== undefined && old.channel !== "stable" && old.channel !== "developer")
    problems.push('"channel" must be "stable" or "developer"');
  if (problems.length > 0) throw new ConfigError(file, problems);

  const notCarried: Array<{ field: string; why: string }> = [];
  const drop = (field: string, why: string) => {
    if (field in old) notCarried.push({ field, why });
  };
  const has = (field: string) => old[field] !== undefined && old[field] !== null;
  const get = <T>(field: string, fallback: T) => (has(field) ? (old[field] as T) : fallback);

  // Where releases come from: the latest release (stable) or a branch tip (developer).
  const source: Record<string, unknown> = { type: "github", repo: `${old.owner}/${old.repo}` };
  if (old.channel === "developer") {
    source.branch = get("branch", "main");
    drop("tag", "the developer channel follows the branch tip");
  } else {
    if (has("tag")) source.tag = old.tag;
    drop("branch", "the stable channel follows the latest release; branch is for the developer channel");
  }
  if (typeof old.token === "string" && old.token !== "") source.token = old.token;
  const trimmed = (field: string) => (old[field] as string[]).map((p) => p.replace(/^\/+|\/+$/g, ""));
  for (const field of ["allow", "ignore", "paths"]) if (has(field)) source[field] = trimmed(field);
  const config: Record<string, unknown> = {
    project: projectName(old.repo as string),
    keys: [],
    source,
  };

  // Network: timeouts collapse to the larger one, as the updater does on MicroPython.
  const timeouts = ["connect_timeout_sec", "http_timeout_sec"].filter(has).map((f) => old[f] as number);
  if (timeouts.length > 0) config.timeout_s = Math.ceil(Math.max(...timeouts));
  if (has("http_retries")) {
    config.retries = old.http_retries;
    drop("retries", "Wi-Fi connection attempts; mpota waits timeout_s for the network instead");
  } else if (has("retries")) config.retries = old.retries;
  for (const field of Object.keys(DROPPED)) drop(field, DROPPED[field]!);

  const ssid = get<string | undefined>("wifi_ssid", get<string | undefined>("ssid", undefined));
  const password = get("wifi_password", get("password", ""));
  const wifiOn = old.wifi_enabled !== false && ssid;
  if (old.wifi_enabled === false)
    for (const f of ["ssid", "password", "wifi_ssid", "wifi_password", "wifi_timeout_sec"])
      drop(f, "wifi_enabled is false");
  else if (!ssid) for (const f of ["password", "wifi_password"]) drop(f, "no ssid to use it with");
  const cellular = old.cellular_enabled === true;
  if (cellular && !has("cellular_apn"))
    drop("cellular_enabled", "no cellular_apn: a cellular link needs the APN of the SIM's operator");
  const ppp = cellular && has("cellular_apn");
  for (const f of ["cellular_uart", "cellular_tx_pin", "cellular_rx_pin", "cellular_baud", "cellular_apn"])
    if (!ppp) drop(f, "cellular_enabled is not true");
  if (!ppp) drop("cellular_cost_per_mb", "cellular_enabled is not true");
  if (ppp) {
    // Wi-Fi first, then the modem, as the updater's ConnectivityManager ranks them.
    const transports: unknown[] = [];
    if (wifiOn) {
      const wlan: Record<string, unknown> = { type: "wlan", networks: [{ ssid, password }] };
      if (has("wifi_timeout_sec")) wlan.timeout_s = Math.ceil(old.wifi_timeout_sec as number);
      transports.push(wlan);
    }
    transports.push({
      type: "ppp",
      uart: get("cellular_uart", 1),
      tx: get("cellular_tx_pin", 4),
      rx: get("cellular_rx_pin", 5),
      baudrate: get("cellular_baud", 115200),
      apn: old.cellular_apn,
      cost_per_mb: get("cellular_cost_per_mb", 0.5),
    });
    config.transports = transports;
  } else if (wifiOn) {
    config.wifi = { ssid, password };
    drop("wifi_timeout_sec", "without transports mpota waits timeout_s for Wi-Fi");
  }

  // The board in the field (mpota's led, battery, schedule, watchdog_ms, log).
  if (has("watchdog_timeout_ms")) config.watchdog_ms = old.watchdog_timeout_ms;
  if (has("status_led_pin")) config.led = { pin: old.status_led_pin, active_low: false };
  if (old.debug === true) config.log = "debug";
  const batteryFields = ["battery_adc_pin", "battery_divider_ratio", "battery_v_min", "battery_v_max"];
  if (has("battery_adc_pin") && has("min_battery_percent"))
    config.battery = {
      adc_pin: old.battery_adc_pin,
      divider: get("battery_divider_ratio", 1),
      v_min: get("battery_v_min", 3.0),
      v_max: get("battery_v_max", 4.2),
      min_percent: Math.ceil(old.min_battery_percent as number),
    };
  else
    for (const f of [...batteryFields, "min_battery_percent"])
      drop(f, "a battery gate needs both battery_adc_pin and min_battery_percent");
  const scheduleFields = [
    "min_update_interval_sec",
    "update_window_start_hour",
    "update_window_end_hour",
    "max_crashes_before_delay",
    "rollout_percent",
    "power_source",
  ];
  if (old.update_scheduling === true) {
    const schedule: Record<string, unknown> = {
      min_interval_s: get("min_update_interval_sec", 3600),
      defer_after_crashes: get("max_crashes_before_delay", 3),
    };
    if (has("update_window_start_hour") && has("update_window_end_hour"))
      schedule.window = {
        start_hour: old.update_window_start_hour,
        end_hour: old.update_window_end_hour,
        utc_offset_min: 0,
      };
    else {
      for (const f of ["update_window_start_hour", "update_window_end_hour"])
        drop(f, "a window needs both update_window_start_hour and update_window_end_hour");
      // The updater's solar hours: 10:00 to 15:59.
      if (old.power_source === "solar") schedule.window = { start_hour: 10, end_hour: 16, utc_offset_min: 0 };
    }
    if (old.power_source !== "solar")
      drop("power_source", 'only "solar" meant something (updates from 10:00 to 16:00)');
    else if (has("update_window_start_hour") && has("update_window_end_hour"))
      drop("power_source", "the update window given takes the place of the solar hours");
    if (has("rollout_percent")) schedule.rollout_percent = old.rollout_percent;
    config.schedule = schedule;
  } else for (const f of scheduleFields) drop(f, "update_scheduling is not true");

  const refused = configProblems(config);
  if (refused.length > 0)
    throw new ConfigError(
      file,
      refused.map((p) => `converted, ${p}`),
    );
  return { config, notCarried };
}
