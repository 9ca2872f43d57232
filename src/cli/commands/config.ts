import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { OtaConfig } from "../../config/index.ts";
import { CliError } from "../errors.ts";

interface ConfigOptions {
  fromOta?: string;
  out?: string;
  json?: boolean;
}

/** Reads and validates a device config file; a bad one is a ConfigError naming every mistake (one CLI line). */
export async function readDeviceConfig(file: string) {
  const { readConfigFile } = await import("../../config/index.ts");
  return readConfigFile(file);
}

/** Reads an ota_config.json of the GitHub updater family as mpota's config (`--from-ota`). */
async function readOtaConfig(file: string) {
  const { fromOta, parseConfigText } = await import("../../config/index.ts");
  // A file that cannot be read and a ConfigError each become one `mpota: …` line at the CLI's boundary.
  return fromOta(parseConfigText(readFileSync(file, "utf8"), "json", file), file);
}

/**
 * `mpota config IN.{json,yaml,toml} --out ota_config.json`: validate a device config, write it as JSON.
 * `mpota config --from-ota OLD.json`: the same from a GitHub updater's ota_config.json, naming each
 * field it could not carry over.
 */
export function registerConfig(program: Command): void {
  program
    .command("config")
    .description("check a device config (JSON, YAML or TOML) and write it as the board's ota_config.json")
    .argument("[file]", "the config: .json, .yaml/.yml or .toml")
    .option("--from-ota <file>", "convert an ota_config.json of the GitHub OTA updater (owner/repo/channel…)")
    .option("--out <file>", "where to write ota_config.json (default: print it)")
    .option("--json", "print one JSON line: {out, config} (and notCarried with --from-ota)")
    .action(async (file: string | undefined, opts: ConfigOptions) => {
      const { configJson } = await import("../../config/index.ts");
      if ((file === undefined) === (opts.fromOta === undefined))
        throw new CliError("give either a config file or --from-ota FILE");
      const converted = opts.fromOta === undefined ? undefined : await readOtaConfig(opts.fromOta);
      const config = converted ? (converted.config as OtaConfig) : await readDeviceConfig(file!);
      const notCarried = converted?.notCarried;
      const text = configJson(config);
      if (opts.out) writeFileSync(opts.out, text);
      if (opts.json) {
        const line = { out: opts.out ?? null, config, ...(notCarried && { notCarried }) };
        process.stdout.write(`${JSON.stringify(line)}\n`);
        return;
      }
      if (opts.out) {
        const keys = config.keys.length;
        process.stdout.write(
          `wrote ${opts.out}: project ${config.project}, ${config.source.type} source, ${keys} key${keys === 1 ? "" : "s"}\n`,
        );
      } else process.stdout.write(text);
      // Beside the config, not in it: stdout stays the file's text when there is no --out.
      const say = opts.out ? process.stdout : process.stderr;
      for (const { field, why } of notCarried ?? []) say.write(`not carried over: ${field}: ${why}\n`);
    });
}
