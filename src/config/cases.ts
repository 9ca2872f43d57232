/**
 * One table of configs for the host rules (rules.ts) and the device rules (device/mpota/config.py):
 * config.test.ts runs every entry through both and expects exactly these messages from each.
 */
const KEY = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
const URL = "http://127.0.0.1:8080/site";

export const GOOD_CONFIGS: Record<string, Record<string, unknown>> = {
  minimal: { project: "greenhouse", keys: [KEY], source: { type: "static", url: URL } },
  everything: {
    project: "greenhouse",
    keys: [KEY, KEY.replace("3d", "4e")],
    source: { type: "static", url: "https://ota.example/site/", channel: "beta-2" },
    reset_mode: "soft",
    pin: "1.2.3-rc.1",
    trial: { max_boots: 5, watchdog_ms: 30000, auto_confirm_s: 60 },
    timeout_s: 30,
    retries: 0,
    ca: "/certs/ca.pem",
    wifi: { ssid: "lab", password: "" },
    signed_pointer: true,
  },
  server: {
    project: "greenhouse",
    keys: [KEY],
    source: { type: "server", url: URL, channel: "stable", device_id: "dev-0001", token: "t0k3n" },
  },
  githubRelease: { project: "p", keys: [KEY], source: { type: "github", repo: "acme/greenhouse" } },
  githubBranch: {
    project: "p",
    keys: [],
    source: {
      type: "github",
      repo: "acme/greenhouse",
      branch: "main",
      token: "ghp_x",
      subdir: "firmware/app",
      paths: ["main.py", "lib/util.py"],
      allow: ["*.py", "lib/**"],
      ignore: [],
    },
  },
  gitea: {
    project: "p",
    keys: [KEY],
    source: { type: "gitea", api: "https://git.example/api/v1", repo: "a/b", tag: "v1" },
  },
  gogs: {
    project: "p",
    keys: [],
    source: { type: "gogs", api: "http://gogs.local/api/v1", repo: "a/b", branch: "dev" },
  },
  micropythonOta: {
    project: "p",
    keys: [],
    source: {
      type: "micropython_ota",
      host: "http://192.168.1.10:8000",
      project: "greenhouse",
      filenames: ["main.py", "lib/sensors.py"],
      use_version_prefix: false,
      user: "me",
      passwd: "",
    },
  },
  transports: {
    project: "p",
    keys: [KEY],
    source: { type: "static", url: URL },
    transports: [
      {
        type: "wlan",
        networks: [
          { ssid: "lab", password: "pw" },
          { ssid: "yard", password: "" },
        ],
      },
      { type: "lan", phy_type: "LAN8720", phy_addr: 1, mdc: 23, mdio: 18, power: 16, timeout_s: 5 },
      {
        type: "ppp",
        uart: 1,
        tx: 17,
        rx: 16,
        baudrate: 115200,
        apn: "iot.example",
        sim_pin: "1234",
        user: "u",
        password: "",
        cost_per_mb: 0.5,
        max_update_bytes: 200000,
        timeout_s: 60,
      },
    ],
  },
  nullables: {
    project: "p",
    keys: [KEY],
    source: { type: "static", url: URL },
    pin: null,
    ca: null,
    wifi: null,
    trial: {},
  },
  // Boards in the field: LED, battery gate, schedule, update watchdog, log.
  fieldBoard: {
    project: "p",
    keys: [KEY],
    source: { type: "static", url: URL },
    led: { pin: 2, active_low: true },
    battery: { adc_pin: 34, divider: 2, v_min: 3.0, v_max: 4.15, min_percent: 25 },
    schedule: {
      min_interval_s: 3600,
      window: { start_hour: 22, end_hour: 5, utc_offset_min: 60 },
      defer_after_crashes: 3,
      rollout_percent: 20,
    },
    watchdog_ms: 8000,
    log: "info",
  },
  fieldBoardFuelGauge: {
    project: "p",
    keys: [KEY],
    source: { type: "static", url: URL },
    led: { pin: "LED" },
    battery: { read: "gauge.percent" },
    schedule: {},
    log: "debug",
  },
};

const base = GOOD_CONFIGS.minimal!;
const withSource = (source: Record<string, unknown>) => ({ ...base, source });
const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

/** Each bad config with exactly the messages both validators give, in order. */
export const BAD_CONFIGS: Array<{ name: string; config: unknown; messages: string[]; crossField?: boolean }> =
  [
    { name: "not an object", config: [base], messages: ["must hold a JSON object"] },
    { name: "unknown key", config: { ...base, colour: "red" }, messages: ['unknown key "colour"'] },
    { name: "missing project", config: without("project"), messages: ['missing "project"'] },
    {
      name: "bad project",
      config: { ...base, project: "Green House" },
      messages: ['"project" must be 1 to 64 characters a-z 0-9 . _ - starting with a letter or digit'],
    },
    {
      name: "keys not a list",
      config: { ...base, keys: KEY },
      messages: ['"keys" must be a list of Ed25519 public keys, each 64 lowercase hex characters'],
    },
    {
      name: "key in upper case",
      config: { ...base, keys: [KEY.toUpperCase()] },
      messages: ['"keys" must be a list of Ed25519 public keys, each 64 lowercase hex characters'],
    },
    { name: "missing source", config: without("source"), messages: ['missing "source"'] },
    {
      name: "source a string",
      config: { ...base, source: URL },
      messages: ['"source" must be an object with a "type"'],
    },
    { name: "source without type", config: withSource({ url: URL }), messages: ['missing "source.type"'] },
    {
      name: "unknown source type",
      config: withSource({ type: "ftp", url: URL }),
      messages: [
        '"source.type" must be one of "static", "server", "github", "gitea", "gogs", "micropython_ota"',
      ],
    },
    {
      name: "static without url",
      config: withSource({ type: "static" }),
      messages: ['missing "source.url"'],
    },
    {
      name: "static url not http",
      config: withSource({ type: "static", url: "ftp://host/x" }),
      messages: ['"source.url" must be an http:// or https:// URL'],
    },
    {
      name: "url without host",
      config: withSource({ type: "static", url: "http:///x" }),
      messages: ['"source.url" must be an http:// or https:// URL'],
    },
    {
      name: "bad channel",
      config: withSource({ type: "static", url: URL, channel: "Stable!" }),
      messages: ['"source.channel" must be 1 to 64 characters a-z 0-9 . _ - starting with a letter or digit'],
    },
    {
      name: "field of another source type",
      config: withSource({ type: "static", url: URL, branch: "main" }),
      messages: ['unknown key "source.branch"'],
    },
    {
      name: "server without device_id and token",
      config: withSource({ type: "server", url: URL }),
      messages: ['missing "source.device_id"', 'missing "source.token"'],
    },
    {
      name: "server device_id the server would refuse",
      config: withSource({ type: "server", url: URL, device_id: "my board", token: "t" }),
      messages: [
        '"source.device_id" must be 1 to 128 characters A-Z a-z 0-9 . _ : - starting with a letter or digit',
      ],
    },
    {
      name: "server device_id of 129 characters",
      config: withSource({ type: "server", url: URL, device_id: "d".repeat(129), token: "t" }),
      messages: [
        '"source.device_id" must be 1 to 128 characters A-Z a-z 0-9 . _ : - starting with a letter or digit',
      ],
    },
    {
      name: "github repo without owner",
      config: withSource({ type: "github", repo: "greenhouse" }),
      messages: ['"source.repo" must be a repository name "owner/name"'],
    },
    {
      name: "github tag and branch",
      config: withSource({ type: "github", repo: "a/b", tag: "v1", branch: "main" }),
      messages: ['"source.tag" and "source.branch" exclude each other: follow one of them'],
      crossField: true,
    },
    {
      name: "gitea without api",
      config: withSource({ type: "gitea", repo: "a/b" }),
      messages: ['missing "source.api"'],
    },
    {
      name: "empty paths",
      config: withSource({ type: "github", repo: "a/b", paths: [] }),
      messages: ['"source.paths" must be a list of relative paths such as "lib/app.py"'],
    },
    {
      name: "path escaping the tree",
      config: withSource({ type: "github", repo: "a/b", subdir: "../up" }),
      messages: ['"source.subdir" must be a relative path such as "firmware"'],
    },
    {
      name: "allow not a list",
      config: withSource({ type: "gogs", api: URL, repo: "a/b", allow: "*.py" }),
      messages: ['"source.allow" must be a list of non-empty strings (glob patterns)'],
    },
    {
      name: "micropython_ota mistakes",
      config: withSource({
        type: "micropython_ota",
        host: "192.168.1.10",
        project: "p",
        use_version_prefix: "yes",
      }),
      messages: [
        '"source.host" must be an http:// or https:// URL',
        'missing "source.filenames"',
        '"source.use_version_prefix" must be true or false',
      ],
    },
    {
      name: "bad reset_mode",
      config: { ...base, reset_mode: "reboot" },
      messages: ['"reset_mode" must be "hard", "soft" or "none"'],
    },
    {
      name: "pin not semver",
      config: { ...base, pin: "1.2" },
      messages: ['"pin" must be null or a semver version such as "1.2.3"'],
    },
    { name: "trial not an object", config: { ...base, trial: 3 }, messages: ['"trial" must be an object'] },
    {
      name: "trial fields",
      config: { ...base, trial: { max_boots: 0, watchdog_ms: 500, auto_confirm_s: -1, boots: 2 } },
      messages: [
        'unknown key "trial.boots"',
        '"trial.max_boots" must be a whole number from 1 to 100',
        '"trial.watchdog_ms" must be 0 (off) or a whole number of milliseconds from 1000 to 3600000',
        '"trial.auto_confirm_s" must be 0 (off) or a whole number of seconds up to 86400',
      ],
    },
    {
      name: "timeout as a string",
      config: { ...base, timeout_s: "10" },
      messages: ['"timeout_s" must be a whole number of seconds from 1 to 600'],
    },
    {
      name: "timeout with a fraction",
      config: { ...base, timeout_s: 2.5 },
      messages: ['"timeout_s" must be a whole number of seconds from 1 to 600'],
    },
    {
      name: "retries a boolean",
      config: { ...base, retries: true },
      messages: ['"retries" must be a whole number from 0 to 20'],
    },
    {
      name: "wifi without password",
      config: { ...base, wifi: { ssid: "lab" } },
      messages: ['"wifi" must be null or {"ssid": "...", "password": "..."}'],
    },
    {
      name: "ca empty",
      config: { ...base, ca: "" },
      messages: ['"ca" must be null or the path of a CA certificate file on the board'],
    },
    {
      name: "pin longer than 256 characters",
      config: { ...base, pin: `1.2.3-${"a".repeat(251)}` },
      messages: ['"pin" must be null or a semver version such as "1.2.3"'],
    },
    {
      name: "signed_pointer not a boolean",
      config: { ...base, signed_pointer: "yes" },
      messages: ['"signed_pointer" must be true or false'],
    },
    {
      name: "signed_pointer with a source without signed pointers",
      config: {
        ...base,
        source: { type: "server", url: URL, device_id: "d", token: "t" },
        signed_pointer: true,
      },
      messages: [
        '"signed_pointer" needs a "static" source: only a static site serves signed channel pointers',
      ],
      crossField: true,
    },
    {
      name: "no keys for a signed source",
      config: { ...base, keys: [] },
      messages: ['"keys" must list at least one public key: releases of a "static" source are signed'],
      crossField: true,
    },
    // transports
    {
      name: "transports empty",
      config: { ...base, transports: [] },
      messages: ['"transports" must be a non-empty list of objects, each with a "type"'],
    },
    {
      name: "transport types",
      config: { ...base, transports: [{ networks: [] }, { type: "lora" }] },
      messages: ['missing "transports[0].type"', '"transports[1].type" must be one of "wlan", "lan", "ppp"'],
    },
    {
      name: "transport fields",
      config: {
        ...base,
        transports: [
          { type: "wlan", networks: [{ ssid: "lab" }], apn: "x" },
          { type: "lan", phy_type: "lan8720", mdc: 300 },
          { type: "ppp", apn: "", sim_pin: "12", cost_per_mb: -1, max_update_bytes: 1.5, timeout_s: 0 },
        ],
      },
      messages: [
        'unknown key "transports[0].apn"',
        '"transports[0].networks" must be a non-empty list of {"ssid": "...", "password": "..."}',
        '"transports[1].phy_type" must be a PHY name as network.PHY_<name> spells it, such as "LAN8720"',
        '"transports[1].mdc" must be a whole number from 0 to 255 (a GPIO number)',
        '"transports[2].timeout_s" must be a whole number of seconds from 1 to 600',
        'missing "transports[2].uart"',
        '"transports[2].apn" must be a non-empty string',
        '"transports[2].sim_pin" must be 4 to 8 digits',
        '"transports[2].cost_per_mb" must be a number from 0 to 1000000',
        '"transports[2].max_update_bytes" must be 0 (no cap) or a whole number of bytes up to 1000000000',
      ],
    },
    {
      name: "wifi and transports",
      config: { ...base, wifi: { ssid: "lab", password: "" }, transports: [{ type: "lan" }] },
      messages: ['"wifi" and "transports" exclude each other: list the network under a "wlan" transport'],
      crossField: true,
    },
    // Boards in the field
    {
      name: "led fields",
      config: { ...base, led: { pin: -1, active_low: 1, blink: true } },
      messages: [
        'unknown key "led.blink"',
        '"led.pin" must be a pin number from 0 to 255 or a pin name such as "LED"',
        '"led.active_low" must be true or false',
      ],
    },
    { name: "led without pin", config: { ...base, led: {} }, messages: ['missing "led.pin"'] },
    { name: "led not an object", config: { ...base, led: 2 }, messages: ['"led" must be an object'] },
    {
      name: "battery fields",
      config: {
        ...base,
        battery: { adc_pin: 34, divider: 0.5, v_min: "3", min_percent: 101, read: "gauge" },
      },
      messages: [
        '"battery.divider" must be a number from 1 to 100 (battery volts per volt at the pin)',
        '"battery.v_min" must be a number of volts from 0 to 60',
        '"battery.min_percent" must be a whole number from 0 to 100',
        '"battery.read" must be a function name "module.function" returning the charge in percent',
      ],
    },
    {
      name: "battery with neither adc_pin nor read",
      config: { ...base, battery: { min_percent: 30 } },
      messages: ['"battery" needs either "adc_pin" (a voltage divider) or "read" (a fuel gauge), not both'],
      crossField: true,
    },
    {
      name: "battery v_min above v_max",
      config: { ...base, battery: { adc_pin: 1, v_min: 4.2, v_max: 3.3 } },
      messages: ['"battery.v_min" must be below "battery.v_max"'],
      crossField: true,
    },
    {
      name: "schedule fields",
      config: {
        ...base,
        schedule: {
          min_interval_s: -5,
          window: { start_hour: 24, utc_offset_min: 900 },
          defer_after_crashes: 1.5,
          rollout_percent: "50",
        },
      },
      messages: [
        '"schedule.min_interval_s" must be 0 (off) or a whole number of seconds up to 2592000 (30 days)',
        '"schedule.window.start_hour" must be a whole number from 0 to 23',
        'missing "schedule.window.end_hour"',
        '"schedule.window.utc_offset_min" must be a whole number of minutes from -720 to 840',
        '"schedule.defer_after_crashes" must be 0 (off) or a whole number up to 100',
        '"schedule.rollout_percent" must be a whole number from 0 to 100',
      ],
    },
    {
      name: "empty window",
      config: { ...base, schedule: { window: { start_hour: 3, end_hour: 3 } } },
      messages: ['"schedule.window" needs different start_hour and end_hour'],
      crossField: true,
    },
    {
      name: "update watchdog and log",
      config: { ...base, watchdog_ms: 999, log: "verbose" },
      messages: [
        '"watchdog_ms" must be 0 (off) or a whole number of milliseconds from 1000 to 3600000',
        '"log" must be "error", "info" or "debug"',
      ],
    },
    {
      name: "several mistakes at once, in field order",
      config: { zz: 1, aa: 2, keys: "x", source: { type: "static", url: "nope", extra: 1 }, retries: 99 },
      messages: [
        'unknown key "aa"',
        'unknown key "zz"',
        'missing "project"',
        '"keys" must be a list of Ed25519 public keys, each 64 lowercase hex characters',
        'unknown key "source.extra"',
        '"source.url" must be an http:// or https:// URL',
        '"retries" must be a whole number from 0 to 20',
      ],
    },
  ];
