/** Reading a device config written as JSON, YAML or TOML, validated with the device's own rules. */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { MpotaError } from "../errors/index.ts";
import { configProblems } from "./rules.ts";
import type { OtaConfig } from "./schema.ts";

export type ConfigFormat = "json" | "yaml" | "toml";

/** A config that cannot be used; `problems` holds one message per mistake. */
export class ConfigError extends MpotaError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super("config", `${file}: ${problems.join("; ")}`);
  }
}

export function formatOf(file: string): ConfigFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === ".json") return "json";
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  if (ext === ".toml") return "toml";
  return undefined;
}

/** The value a config text holds; ConfigError when it does not parse (with the parser's position). */
export function parseConfigText(text: string, format: ConfigFormat, file: string): unknown {
  try {
    if (format === "json") return JSON.parse(text);
    if (format === "yaml") return parseYaml(text, { prettyErrors: true });
    return parseToml(text);
  } catch (err) {
    const detail = (err as Error).message.split("\n")[0];
    throw new ConfigError(file, [`not valid ${format.toUpperCase()} (${detail})`]);
  }
}

/** A validated config from its text; ConfigError naming every wrong field. */
export function parseConfig(text: string, format: ConfigFormat, file: string): OtaConfig {
  const value = parseConfigText(text, format, file);
  const problems = configProblems(value);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return value as OtaConfig;
}

/** Reads a .json, .yaml/.yml or .toml config file and validates it. */
export function readConfigFile(file: string): OtaConfig {
  const format = formatOf(file);
  if (!format) throw new ConfigError(file, ["the file name must end in .json, .yaml, .yml or .toml"]);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  return parseConfig(text, format, file);
}

/** The config as the board's /ota_config.json holds it: plain JSON, one field per line. */
export function configJson(config: OtaConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
