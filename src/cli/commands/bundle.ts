import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { CliError } from "../errors.ts";

interface BundleOptions {
  config: string;
  out: string;
  store?: string;
  release?: string;
  json?: boolean;
}

/** The folder of `project` in a store or static site: STORE/<project>/ or STORE itself. */
function projectFolder(store: string, project: string): string {
  const nested = join(store, project);
  if (existsSync(join(nested, "releases"))) return nested;
  if (existsSync(join(store, "releases"))) return store;
  throw new CliError(`--store ${store}: no releases of project "${project}" (looked for ${nested}/releases)`);
}

/**
 * `mpota device bundle --config ota_config.json --out DIR [--store STORE --release V]`: the files a board
 * needs once (loader, config, first release in slot 0, state record), to copy with mpremote or Thonny.
 * Registered under the `device` command by the coordinator (src/cli/commands/device.ts).
 */
export function registerDeviceBundle(device: Command): void {
  device
    .command("bundle")
    .description("write the files a board needs once: loader, config, first release in slot 0")
    .requiredOption("--config <file>", "the device config (ota_config.json, or YAML/TOML)")
    .requiredOption("--out <dir>", "folder to write (must be empty or absent)")
    .option("--store <dir>", "release store or static site holding the first release")
    .option("--release <version>", "version of the first release in the store (with --store)")
    .option("--json", "print one JSON line: {out, version, files, bytes}")
    .action(async (opts: BundleOptions) => {
      const { ConfigError, configJson, readConfigFile } = await import("../../config/index.ts");
      const { bundleFiles } = await import("../../client/bundle.ts");
      if ((opts.store === undefined) !== (opts.release === undefined))
        throw new CliError(
          "--store and --release go together: the first release is version RELEASE from STORE",
        );
      if (existsSync(opts.out) && (!statSync(opts.out).isDirectory() || readdirSync(opts.out).length > 0))
        throw new CliError(`--out ${opts.out}: not an empty folder (nothing was written)`);
      let config: ReturnType<typeof readConfigFile>;
      try {
        config = readConfigFile(opts.config);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message);
        throw err;
      }
      let release: Parameters<typeof bundleFiles>[0]["release"];
      if (opts.store && opts.release) {
        const root = projectFolder(opts.store, config.project);
        const envelopePath = join(root, "releases", `${opts.release}.json`);
        if (!existsSync(envelopePath)) throw new CliError(`--release ${opts.release}: no ${envelopePath}`);
        release = {
          envelope: readFileSync(envelopePath),
          blob: (sha256) => {
            const path = join(root, "blobs", `${sha256}.z`);
            if (!existsSync(path)) throw new CliError(`the store lacks blob ${path}`);
            return readFileSync(path);
          },
        };
      }
      let bundle: ReturnType<typeof bundleFiles>;
      try {
        bundle = bundleFiles({ config, configJson: configJson(config), release });
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`release ${opts.release}: ${(err as Error).message}`);
      }
      let bytes = 0;
      for (const [path, data] of Object.entries(bundle.files)) {
        const full = join(opts.out, path);
        if (path.endsWith("/")) {
          mkdirSync(full, { recursive: true });
          continue;
        }
        mkdirSync(dirname(full), { recursive: true });
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
