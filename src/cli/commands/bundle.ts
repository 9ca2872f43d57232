import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { makeFolder } from "../../store/index.ts";
import { CliError } from "../errors.ts";
import { readDeviceConfig } from "./config.ts";

interface BundleOptions {
  config: string;
  out: string;
  store?: string;
  release?: string;
  json?: boolean;
  main: boolean;
}

/**
 * `mpota device bundle --config ota_config.json --out DIR [--store STORE [--release V]]`: the files a board
 * needs once (loader, config, first release in slot 0, state record), to copy with mpremote or Thonny.
 * Registered under the `device` command by the coordinator (src/cli/commands/device.ts).
 */
export function registerDeviceBundle(device: Command): void {
  device
    .command("bundle")
    .description("write the files a board needs once: loader, config, first release in slot 0")
    .requiredOption("--config <file>", "the device config (ota_config.json, or YAML/TOML)")
    .requiredOption("--out <dir>", "folder to write (must be empty or absent)")
    .option("--store <dir>", "release store (mpota release --out) or static site holding the first release")
    .option("--release <version>", "version of the first release (default: the newest in the store)")
    .option("--no-main", "accept a first release without main.py (the board stops at boot, saying so)")
    .option("--json", "print one JSON line: {out, version, files, bytes}")
    .action(async (opts: BundleOptions) => {
      const { configJson } = await import("../../config/index.ts");
      const { bundleFiles, releaseFrom, shippedMpotaPackage } = await import("../../client/bundle.ts");
      if (opts.release !== undefined && opts.store === undefined)
        throw new CliError("--release needs --store: the store or static site that holds it");
      if (existsSync(opts.out) && (!statSync(opts.out).isDirectory() || readdirSync(opts.out).length > 0))
        throw new CliError(`--out ${opts.out}: not an empty folder (nothing was written)`);
      const config = await readDeviceConfig(opts.config);
      let release: ReturnType<typeof releaseFrom> | undefined;
      if (opts.store !== undefined) {
        try {
          release = releaseFrom(opts.store, config.project, opts.release);
        } catch (err) {
          throw new CliError(`--store ${opts.store}: ${(err as Error).message}`);
        }
      }
      let bundle: ReturnType<typeof bundleFiles>;
      try {
        const mpotaPackage = release ? undefined : await shippedMpotaPackage("lib/mpota/");
        bundle = bundleFiles({ config, configJson: configJson(config), release, mpotaPackage });
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`release ${release?.version}: ${(err as Error).message}`);
      }
      if (release && opts.main && !bundle.files[".mpota/slot0/main.py"])
        throw new CliError(
          `release ${bundle.version} has no main.py, which the board's loader runs at every boot; ` +
            "bundle a release with one, or pass --no-main if the board starts the app another way",
        );
      let bytes = 0;
      for (const [path, data] of Object.entries(bundle.files)) {
        const full = join(opts.out, path);
        if (path.endsWith("/")) {
          makeFolder(full);
          continue;
        }
        makeFolder(dirname(full));
        writeFileSync(full, data);
        bytes += data.length;
      }
      const files = Object.keys(bundle.files).filter((p) => !p.endsWith("/")).length;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ out: opts.out, version: bundle.version, files, bytes })}\n`);
        return;
      }
      process.stdout.write(
        `wrote ${files} files (${bytes} bytes) to ${opts.out}: loader, config, ` +
          (release
            ? `release ${bundle.version} in slot 0`
            : "a bootstrap slot that installs the channel's release") +
          `\ncopy them to the board, e.g.: cd ${opts.out} && mpremote cp -r . :\n`,
      );
    });
}
