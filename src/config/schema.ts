/**
 * ota_config.json as a typebox schema: the TypeScript type of a config and a JSON Schema for editors.
 * The messages come from rules.ts (the same as the device's); config.test.ts checks that this schema
 * accepts exactly the configs those rules accept, apart from the two rules across fields.
 */
import Type, { type Static } from "typebox";
import { HEX64_PATTERN } from "../rules/hex.ts";
import { MAX_PATH_BYTES, MAX_VERSION_LENGTH } from "../rules/limits.ts";
import { DEVICE_ID_PATTERN, NAME_PATTERN } from "../rules/name.ts";
import { VERSION_PATTERN } from "../rules/version.ts";

const Name = Type.String({ pattern: NAME_PATTERN });
const Text = Type.String({ minLength: 1, maxLength: 1024, pattern: "^[^\\u0000-\\u001f]+$" });
const Url = Type.String({
  pattern: "^https?://[^/?#: \\u0000-\\u001f][^ \\u0000-\\u001f]*$",
  maxLength: 1024,
});
/** A release path (src/rules/path.ts); JSON Schema counts characters, the rule bytes of UTF-8. */
const RelPath = Type.String({
  pattern:
    "^(?!.*\\\\)(?!\\.\\.?(/|$))(?!.*/\\.\\.?(/|$))[^/\\u0000-\\u001f\\u007f]+(/[^/\\u0000-\\u001f\\u007f]+)*$",
  maxLength: MAX_PATH_BYTES,
});
const Globs = Type.Array(Text);
const Paths = Type.Array(RelPath, { minItems: 1 });
const Version = Type.String({ maxLength: MAX_VERSION_LENGTH, pattern: VERSION_PATTERN });
const strict = { additionalProperties: false } as const;

export const StaticSource = Type.Object(
  { type: Type.Literal("static"), url: Url, channel: Type.Optional(Name) },
  { ...strict, description: "a static site written by `mpota publish --static` (any web server or CDN)" },
);

export const ServerSource = Type.Object(
  {
    type: Type.Literal("server"),
    url: Url,
    channel: Type.Optional(Name),
    device_id: Type.String({ pattern: DEVICE_ID_PATTERN }),
    token: Text,
  },
  { ...strict, description: "an `mpota serve` update server" },
);

const gitFields = {
  repo: Type.String({ pattern: "^[A-Za-z0-9._-]{1,100}/[A-Za-z0-9._-]{1,100}$" }),
  tag: Type.Optional(Text),
  branch: Type.Optional(Text),
  token: Type.Optional(Text),
  subdir: Type.Optional(RelPath),
  paths: Type.Optional(Paths),
  allow: Type.Optional(Globs),
  ignore: Type.Optional(Globs),
};

export const GitSource = Type.Union([
  Type.Object({ type: Type.Literal("github"), api: Type.Optional(Url), ...gitFields }, strict),
  Type.Object(
    { type: Type.Union([Type.Literal("gitea"), Type.Literal("gogs")]), api: Url, ...gitFields },
    strict,
  ),
]);

export const MicropythonOtaSource = Type.Object(
  {
    type: Type.Literal("micropython_ota"),
    host: Url,
    project: RelPath,
    filenames: Paths,
    use_version_prefix: Type.Optional(Type.Boolean()),
    user: Type.Optional(Text),
    passwd: Type.Optional(Type.String()),
  },
  { ...strict, description: "a server in the micropython_ota layout (<project>/version, <version>_<file>)" },
);

export const Source = Type.Union([StaticSource, ServerSource, GitSource, MicropythonOtaSource]);

export const Trial = Type.Object(
  {
    max_boots: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    watchdog_ms: Type.Optional(
      Type.Union([Type.Literal(0), Type.Integer({ minimum: 1000, maximum: 3_600_000 })]),
    ),
    auto_confirm_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
  },
  strict,
);

const Wifi = Type.Object(
  { ssid: Type.String({ minLength: 1, maxLength: 32 }), password: Type.String() },
  strict,
);
const Gpio = Type.Integer({ minimum: 0, maximum: 255 });
const transportTimeout = { timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })) };

export const Transport = Type.Union([
  Type.Object(
    { type: Type.Literal("wlan"), ...transportTimeout, networks: Type.Array(Wifi, { minItems: 1 }) },
    { ...strict, description: "Wi-Fi: the networks tried in order" },
  ),
  Type.Object(
    {
      type: Type.Literal("lan"),
      ...transportTimeout,
      phy_type: Type.Optional(Type.String({ pattern: "^[A-Z0-9]{1,16}$" })),
      phy_addr: Type.Optional(Type.Integer({ minimum: 0, maximum: 31 })),
      mdc: Type.Optional(Gpio),
      mdio: Type.Optional(Gpio),
      power: Type.Optional(Gpio),
    },
    { ...strict, description: "wired Ethernet (network.LAN)" },
  ),
  Type.Object(
    {
      type: Type.Literal("ppp"),
      ...transportTimeout,
      uart: Type.Integer({ minimum: 0, maximum: 9 }),
      tx: Type.Optional(Gpio),
      rx: Type.Optional(Gpio),
      baudrate: Type.Optional(Type.Integer({ minimum: 1200, maximum: 4_000_000 })),
      apn: Text,
      sim_pin: Type.Optional(Type.String({ pattern: "^[0-9]{4,8}$" })),
      user: Type.Optional(Text),
      password: Type.Optional(Type.String()),
      cost_per_mb: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
      max_update_bytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
    },
    { ...strict, description: "a cellular modem on a UART, dialled with AT commands, then network.PPP" },
  ),
]);
// Boards in the field (docs/device.md): status LED, battery gate, schedule, update watchdog, log.
const Pin = Type.Union([
  Type.Integer({ minimum: 0, maximum: 255 }),
  Type.String({ minLength: 1, maxLength: 16, pattern: "^[^\\u0000-\\u001f]+$" }),
]);
const Volts = Type.Number({ minimum: 0, maximum: 60 });
const WatchdogMs = Type.Union([Type.Literal(0), Type.Integer({ minimum: 1000, maximum: 3_600_000 })]);

export const Led = Type.Object({ pin: Pin, active_low: Type.Optional(Type.Boolean()) }, strict);
export const Battery = Type.Object(
  {
    adc_pin: Type.Optional(Pin),
    divider: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
    v_min: Type.Optional(Volts),
    v_max: Type.Optional(Volts),
    min_percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    read: Type.Optional(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$" })),
  },
  {
    ...strict,
    description: "no download below min_percent: adc_pin (a voltage divider) or read (a fuel gauge)",
  },
);
export const Schedule = Type.Object(
  {
    min_interval_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_592_000 })),
    window: Type.Optional(
      Type.Object(
        {
          start_hour: Type.Integer({ minimum: 0, maximum: 23 }),
          end_hour: Type.Integer({ minimum: 0, maximum: 23 }),
          utc_offset_min: Type.Optional(Type.Integer({ minimum: -720, maximum: 840 })),
        },
        strict,
      ),
    ),
    defer_after_crashes: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    rollout_percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  strict,
);
const fieldBoard = {
  led: Type.Optional(Led),
  battery: Type.Optional(Battery),
  schedule: Type.Optional(Schedule),
  watchdog_ms: Type.Optional(WatchdogMs),
  log: Type.Optional(Type.Union([Type.Literal("error"), Type.Literal("info"), Type.Literal("debug")])),
};

export const OtaConfig = Type.Object(
  {
    project: Name,
    keys: Type.Array(Type.String({ pattern: HEX64_PATTERN })),
    source: Source,
    reset_mode: Type.Optional(Type.Union([Type.Literal("hard"), Type.Literal("soft"), Type.Literal("none")])),
    pin: Type.Optional(Type.Union([Version, Type.Null()])),
    trial: Type.Optional(Trial),
    timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
    ca: Type.Optional(Type.Union([Text, Type.Null()])),
    wifi: Type.Optional(Type.Union([Wifi, Type.Null()])),
    signed_pointer: Type.Optional(
      Type.Boolean({
        description: "refuse unsigned channel pointers (static sources; see docs/threat-model.md)",
      }),
    ),
    transports: Type.Optional(
      Type.Array(Transport, { minItems: 1, description: "the links an update may use, in priority order" }),
    ),
    ...fieldBoard,
  },
  { ...strict, description: "mpota device config (/ota_config.json)" },
);

export type OtaConfig = Static<typeof OtaConfig>;
