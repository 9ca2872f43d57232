import { writeFileSync } from "node:fs";
import type { Command } from "commander";

interface ConfigOptions {
  out?: string;
  json?: boolean;
}

/** Reads and validates a device config file; a bad one is a ConfigError naming every mistake (one CLI line). */
export async function readDeviceConfig(file: string) {
  const { readConfigFile } = await import("../../config/index.ts");
  return readConfigFile(file);
}

/** `mpota config IN.{json,yaml,toml} --out ota_config.json`: validate a device config, write it as JSON. */
export function registerConfig(program: Command): void {
  program
    .command("config")
    .description("check a device config (JSON, YAML or TOML) and write it as the board's ota_config.json")
    .argument("<file>", "the config: .json, .yaml/.yml or .toml")
    .option("--out <file>", "where to write ota_config.json (default: print it)")
    .option("--json", "print one JSON line: {out, config}")
    .action(async (file: string, opts: ConfigOptions) => {
      const { configJson } = await import("../../config/index.ts");
      const config = await readDeviceConfig(file);
      const text = configJson(config);
      if (opts.out) writeFileSync(opts.out, text);
      if (opts.json) process.stdout.write(`${JSON.stringify({ out: opts.out ?? null, config })}\n`);
      else if (opts.out) {
        const keys = config.keys.length;
        process.stdout.write(
          `wrote ${opts.out}: project ${config.project}, ${config.source.type} source, ${keys} key${keys === 1 ? "" : "s"}\n`,
        );
      } else process.stdout.write(text);
    });
}
