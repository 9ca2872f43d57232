/**
 * The rules of ota_config.json, field for field and message for message the same as
 * device/mpota/config.py (the board validates the same file again when it loads it). Change both
 * together: config.test.ts runs one table of bad configs through both and compares the messages.
 * Names, versions and paths follow the rules of src/rules (device: version.py, manifest.py).
 */
import { isHex64 } from "../rules/hex.ts";
import { isDeviceId, isName } from "../rules/name.ts";
import { isPath } from "../rules/path.ts";
import { isVersion } from "../rules/version.ts";

type Rule = (value: unknown) => boolean;

/** A field: its name, whether it is required, its rule, what the rule asks for, its default, nested fields. */
export interface Field {
  name: string;
  required: boolean;
  ok: Rule;
  wants: string;
  default?: unknown;
  nested?: readonly Field[] | "source" | "transports";
}

export const SOURCE_TYPES = ["static", "server", "github", "gitea", "gogs", "micropython_ota"] as const;
export const GITHUB_API = "https://api.github.com";

/** JSON has one number type: 3.0 is the whole number 3; true is not a number. */
const whole =
  (lo: number, hi: number): Rule =>
  (v) =>
    typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const isKey: Rule = isHex64;

/** A non-empty single-line string (no control characters), at most 1024 characters. */
const isText = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && [...v].length <= 1024 && [...v].every((ch) => ch >= " ");

const isUrl: Rule = (v) => isText(v) && !v.includes(" ") && /^https?:\/\/[^/?#:]/.test(v);

const isRepo: Rule = (v) => typeof v === "string" && /^[A-Za-z0-9._-]{1,100}\/[A-Za-z0-9._-]{1,100}$/.test(v);

const listOf =
  (ok: Rule, empty: boolean): Rule =>
  (v) =>
    Array.isArray(v) && (empty || v.length > 0) && v.every(ok);

const orNull =
  (ok: Rule): Rule =>
  (v) =>
    v === null || ok(v);

const isWifi: Rule = (v) =>
  isObject(v) &&
  Object.keys(v).sort().join(",") === "password,ssid" &&
  typeof v.ssid === "string" &&
  v.ssid.length >= 1 &&
  v.ssid.length <= 32 &&
  typeof v.password === "string";

const NAME = "1 to 64 characters a-z 0-9 . _ - starting with a letter or digit";
const DEVICE_ID = "1 to 128 characters A-Z a-z 0-9 . _ : - starting with a letter or digit";
const URL = "an http:// or https:// URL";
const TEXT = "a non-empty string";
const PATHS = 'a list of relative paths such as "lib/app.py"';
const GLOBS = "a list of non-empty strings (glob patterns)";

const field = (
  name: string,
  required: boolean,
  ok: Rule,
  wants: string,
  defaultValue?: unknown,
  nested?: Field["nested"],
): Field => ({ name, required, ok, wants, default: defaultValue, nested });

const isWatchdogMs: Rule = (v) => v === 0 || whole(1000, 3600000)(v);
const WATCHDOG_MS = "0 (off) or a whole number of milliseconds from 1000 to 3600000";

export const TRIAL: readonly Field[] = [
  field("max_boots", false, whole(1, 100), "a whole number from 1 to 100", 3),
  field("watchdog_ms", false, isWatchdogMs, WATCHDOG_MS, 0),
  field("auto_confirm_s", false, whole(0, 86400), "0 (off) or a whole number of seconds up to 86400", 0),
];

const GIT: readonly Field[] = [
  field("repo", true, isRepo, 'a repository name "owner/name"'),
  field("tag", false, isText, TEXT),
  field("branch", false, isText, TEXT),
  field("token", false, isText, TEXT),
  field("subdir", false, isPath, 'a relative path such as "firmware"'),
  field("paths", false, listOf(isPath, false), PATHS),
  field("allow", false, listOf(isText, true), GLOBS),
  field("ignore", false, listOf(isText, true), GLOBS),
];

export const SOURCES: Record<(typeof SOURCE_TYPES)[number], readonly Field[]> = {
  static: [field("url", true, isUrl, URL), field("channel", false, isName, NAME, "stable")],
  server: [
    field("url", true, isUrl, URL),
    field("channel", false, isName, NAME, "stable"),
    field("device_id", true, isDeviceId, DEVICE_ID),
    field("token", true, isText, TEXT),
  ],
  github: [field("api", false, isUrl, URL, GITHUB_API), ...GIT],
  gitea: [field("api", true, isUrl, URL), ...GIT],
  gogs: [field("api", true, isUrl, URL), ...GIT],
  micropython_ota: [
    field("host", true, isUrl, URL),
    field("project", true, isPath, 'a folder name such as "greenhouse"'),
    field("filenames", true, listOf(isPath, false), PATHS),
    field("use_version_prefix", false, (v) => typeof v === "boolean", "true or false", true),
    field("user", false, isText, TEXT),
    field("passwd", false, (v) => typeof v === "string", "a string"),
  ],
};

// Boards in the field (docs/device.md): status LED, battery gate, schedule, update watchdog, log.
// Each is off unless present; on the board these tables are device/mpota/config_field.py, loaded only then.
const number =
  (lo: number, hi: number): Rule =>
  (v) =>
    typeof v === "number" && v >= lo && v <= hi;
const isPin: Rule = (v) => whole(0, 255)(v) || (isText(v) && [...v].length <= 16);
const isFunction: Rule = (v) => isText(v) && /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(v);
const isBool: Rule = (v) => typeof v === "boolean";
const PIN = 'a pin number from 0 to 255 or a pin name such as "LED"';
const VOLTS = "a number of volts from 0 to 60";

export const LED: readonly Field[] = [
  field("pin", true, isPin, PIN),
  field("active_low", false, isBool, "true or false", false),
];
export const BATTERY: readonly Field[] = [
  field("adc_pin", false, isPin, PIN),
  field("divider", false, number(1, 100), "a number from 1 to 100 (battery volts per volt at the pin)", 1),
  field("v_min", false, number(0, 60), VOLTS, 3.3),
  field("v_max", false, number(0, 60), VOLTS, 4.2),
  field("min_percent", false, whole(0, 100), "a whole number from 0 to 100", 20),
  field("read", false, isFunction, 'a function name "module.function" returning the charge in percent'),
];
export const WINDOW: readonly Field[] = [
  field("start_hour", true, whole(0, 23), "a whole number from 0 to 23"),
  field("end_hour", true, whole(0, 23), "a whole number from 0 to 23"),
  field("utc_offset_min", false, whole(-720, 840), "a whole number of minutes from -720 to 840", 0),
];
export const SCHEDULE: readonly Field[] = [
  field(
    "min_interval_s",
    false,
    whole(0, 2592000),
    "0 (off) or a whole number of seconds up to 2592000 (30 days)",
    0,
  ),
  field("window", false, isObject, "an object", undefined, WINDOW),
  field("defer_after_crashes", false, whole(0, 100), "0 (off) or a whole number up to 100", 0),
  field("rollout_percent", false, whole(0, 100), "a whole number from 0 to 100", 100),
];
const FIELD_BOARD: readonly Field[] = [
  field("led", false, isObject, "an object", undefined, LED),
  field("battery", false, isObject, "an object", undefined, BATTERY),
  field("schedule", false, isObject, "an object", undefined, SCHEDULE),
  field("watchdog_ms", false, isWatchdogMs, WATCHDOG_MS, 0),
  field("log", false, (v) => v === "error" || v === "info" || v === "debug", '"error", "info" or "debug"'),
];

function fieldBoardProblems(cfg: Record<string, unknown>, out: string[]): void {
  const bat = cfg.battery as Record<string, unknown> | undefined;
  if (bat !== undefined && "adc_pin" in bat === "read" in bat)
    out.push('"battery" needs either "adc_pin" (a voltage divider) or "read" (a fuel gauge), not both');
  if (bat !== undefined && ((bat.v_min as number) ?? 3.3) >= ((bat.v_max as number) ?? 4.2))
    out.push('"battery.v_min" must be below "battery.v_max"');
  const win = (cfg.schedule as Record<string, unknown> | undefined)?.window as
    | Record<string, unknown>
    | undefined;
  if (win !== undefined && win.start_hour === win.end_hour)
    out.push('"schedule.window" needs different start_hour and end_hour');
}

export const FIELDS: readonly Field[] = [
  field("project", true, isName, NAME),
  field("keys", true, listOf(isKey, true), "a list of Ed25519 public keys, each 64 lowercase hex characters"),
  field("source", true, isObject, 'an object with a "type"', undefined, "source"),
  field(
    "reset_mode",
    false,
    (v) => v === "hard" || v === "soft" || v === "none",
    '"hard", "soft" or "none"',
    "hard",
  ),
  field("pin", false, orNull(isVersion), 'null or a semver version such as "1.2.3"', null),
  field("trial", false, isObject, "an object", {}, TRIAL),
  field("timeout_s", false, whole(1, 600), "a whole number of seconds from 1 to 600", 10),
  field("retries", false, whole(0, 20), "a whole number from 0 to 20", 3),
  field("ca", false, orNull(isText), "null or the path of a CA certificate file on the board", null),
  field("wifi", false, orNull(isWifi), 'null or {"ssid": "...", "password": "..."}', null),
  field("signed_pointer", false, (v) => typeof v === "boolean", "true or false", false),
  // The links an update may use, in priority order (device/mpota/transport.py); none: the board's own.
  field(
    "transports",
    false,
    listOf(isObject, false),
    'a non-empty list of objects, each with a "type"',
    undefined,
    "transports",
  ),
  ...FIELD_BOARD,
];

const GPIO = "a whole number from 0 to 255 (a GPIO number)";
export const TRANSPORT_TYPES = ["wlan", "lan", "ppp"] as const;
/**
 * The fields of each transport type, none filled in: absent optional fields take their defaults where
 * the board reads them (timeout_s: the config's; baudrate 115200; max_update_bytes 0, no cap).
 */
export const TRANSPORTS: Record<(typeof TRANSPORT_TYPES)[number], readonly Field[]> = {
  wlan: [
    field("networks", true, listOf(isWifi, false), 'a non-empty list of {"ssid": "...", "password": "..."}'),
  ],
  lan: [
    field(
      "phy_type",
      false,
      (v) => isText(v) && /^[A-Z0-9]{1,16}$/.test(v),
      'a PHY name as network.PHY_<name> spells it, such as "LAN8720"',
    ),
    field("phy_addr", false, whole(0, 31), "a whole number from 0 to 31"),
    field("mdc", false, whole(0, 255), GPIO),
    field("mdio", false, whole(0, 255), GPIO),
    field("power", false, whole(0, 255), GPIO),
  ],
  ppp: [
    field("uart", true, whole(0, 9), "a UART number from 0 to 9"),
    field("tx", false, whole(0, 255), GPIO),
    field("rx", false, whole(0, 255), GPIO),
    field("baudrate", false, whole(1200, 4000000), "a whole number from 1200 to 4000000"),
    field("apn", true, isText, TEXT),
    field("sim_pin", false, (v) => typeof v === "string" && /^[0-9]{4,8}$/.test(v), "4 to 8 digits"),
    field("user", false, isText, TEXT),
    field("password", false, (v) => typeof v === "string", "a string"),
    field(
      "cost_per_mb",
      false,
      (v) => typeof v === "number" && v >= 0 && v <= 1000000,
      "a number from 0 to 1000000",
    ),
    field(
      "max_update_bytes",
      false,
      whole(0, 1000000000),
      "0 (no cap) or a whole number of bytes up to 1000000000",
    ),
  ],
};

/** The fields of one transport, or undefined (with the message) when its type is wrong. */
function transportFields(
  t: Record<string, unknown>,
  at: string,
  out: string[],
): readonly Field[] | undefined {
  if (!("type" in t)) out.push(`missing "${at}type"`);
  else if (!(TRANSPORT_TYPES as readonly unknown[]).includes(t.type))
    out.push(`"${at}type" must be one of ${TRANSPORT_TYPES.map((n) => `"${n}"`).join(", ")}`);
  else
    return [
      TYPE_FIELD,
      field("timeout_s", false, whole(1, 600), "a whole number of seconds from 1 to 600"),
      ...TRANSPORTS[t.type as (typeof TRANSPORT_TYPES)[number]],
    ];
  return undefined;
}

const TYPE_FIELD = field("type", true, () => true, "");

/** The fields of a source of this type, or undefined (with the message) when the type is wrong. */
function sourceFields(src: Record<string, unknown>, out: string[]): readonly Field[] | undefined {
  if (!("type" in src)) out.push('missing "source.type"');
  else if (!(SOURCE_TYPES as readonly unknown[]).includes(src.type))
    out.push(`"source.type" must be one of ${SOURCE_TYPES.map((t) => `"${t}"`).join(", ")}`);
  else return [TYPE_FIELD, ...SOURCES[src.type as (typeof SOURCE_TYPES)[number]]];
  return undefined;
}

/** Code-point order, as Python's sorted() orders strings. */
const byCodePoint = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

function check(obj: Record<string, unknown>, fields: readonly Field[], at: string, out: string[]): void {
  const names = new Set(fields.map((f) => f.name));
  for (const key of Object.keys(obj).sort(byCodePoint))
    if (!names.has(key)) out.push(`unknown key "${at}${key}"`);
  for (const f of fields) {
    if (!(f.name in obj)) {
      if (f.required) out.push(`missing "${at}${f.name}"`);
      continue;
    }
    const value = obj[f.name];
    if (!f.ok(value)) out.push(`"${at}${f.name}" must be ${f.wants}`);
    else if (f.nested === "source") {
      const inner = sourceFields(value as Record<string, unknown>, out);
      if (inner) check(value as Record<string, unknown>, inner, `${at}${f.name}.`, out);
    } else if (f.nested === "transports") {
      for (const [i, t] of (value as Array<Record<string, unknown>>).entries()) {
        const inner = transportFields(t, `${at}${f.name}[${i}].`, out);
        if (inner) check(t, inner, `${at}${f.name}[${i}].`, out);
      }
    } else if (f.nested) check(value as Record<string, unknown>, f.nested, `${at}${f.name}.`, out);
  }
}

/**
 * Sources whose releases always come with a signed manifest. A git source (GitHub, Gitea, Gogs) installs
 * signed releases when the board lists keys, else the unsigned files of a branch or tag.
 */
function signed(src: Record<string, unknown>): boolean {
  return src.type === "static" || src.type === "server";
}

/** Every mistake in `cfg`, one message each: unknown keys, missing fields, wrong values. */
export function configProblems(cfg: unknown): string[] {
  if (!isObject(cfg)) return ["must hold a JSON object"];
  const out: string[] = [];
  check(cfg, FIELDS, "", out);
  if (out.length > 0) return out;
  const src = cfg.source as Record<string, unknown>;
  if ("tag" in src && "branch" in src)
    out.push('"source.tag" and "source.branch" exclude each other: follow one of them');
  if (signed(src) && (cfg.keys as unknown[]).length === 0)
    out.push(
      `"keys" must list at least one public key: releases of a "${String(src.type)}" source are signed`,
    );
  if (cfg.signed_pointer === true && src.type !== "static")
    out.push('"signed_pointer" needs a "static" source: only a static site serves signed channel pointers');
  if (isObject(cfg.wifi) && Array.isArray(cfg.transports) && cfg.transports.length > 0)
    out.push('"wifi" and "transports" exclude each other: list the network under a "wlan" transport');
  fieldBoardProblems(cfg, out);
  return out;
}

function fill(obj: Record<string, unknown>, fields: readonly Field[]): void {
  for (const f of fields) {
    if (!(f.name in obj) && f.default !== undefined)
      obj[f.name] = typeof f.default === "object" && f.default !== null ? { ...f.default } : f.default;
    if (Array.isArray(f.nested) && isObject(obj[f.name]))
      fill(obj[f.name] as Record<string, unknown>, f.nested);
  }
}

/** A valid config (checked by configProblems) with every default filled in, as the device completes it. */
export function completeConfig(cfg: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(cfg);
  fill(out, FIELDS);
  const src = out.source as Record<string, unknown>;
  fill(src, SOURCES[src.type as (typeof SOURCE_TYPES)[number]]);
  return out;
}
