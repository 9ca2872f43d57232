import type { Command } from "commander";
import { isName, NAME_RULE } from "../../rules/name.ts";
import type { ReleaseStore } from "../../store/index.ts";
import { CliError } from "../errors.ts";
import { githubTarget, micropythonOtaTarget } from "./publish-sources.ts";
import { loadKeyOption } from "./release.ts";

/** The options every target shares (the release to publish and where it goes). */
export interface PublishCliOptions {
  store: string;
  project: string;
  version?: string;
  channel?: string;
  key?: string;
  expires?: string;
  json?: boolean;
  static?: string;
  server?: string;
  token?: string;
}

/**
 * One place a release can be published to. A target adds its own options, says whether the command
 * line chose it, and publishes; `mpota publish` runs exactly one. Add a target: write one object
 * (its options and its `run`) and list it in TARGETS.
 */
export interface PublishTarget {
  /** How the target is named in messages, e.g. `--static SITE`. */
  usage: string;
  /** Whether it points a channel at the release (then --channel is required). */
  channel: boolean;
  addOptions(command: Command): void;
  chosen(opts: PublishCliOptions): boolean;
  /** Publishes release `opts.version` of `store` (the store --store names, already opened and checked). */
  run(
    opts: PublishCliOptions & { version: string },
    store: ReleaseStore,
  ): Promise<{ json: Record<string, unknown>; text: string }>;
}

/**
 * Warns when the pointer key did not sign the release: boards that trust only the release's keys
 * would refuse the pointer (and with it every update on the channel).
 */
function warnForeignKey(store: ReleaseStore, project: string, version: string, keyId: string): void {
  const signers = store.readRelease(project, version).envelope.signatures.map((s) => s.keyid);
  if (!signers.includes(keyId))
    process.stderr.write(
      `warning: --key ${keyId} did not sign release ${project} ${version} (signed by ${signers.join(", ")}): ` +
        "boards that do not list this key refuse the pointer\n",
    );
}

const staticTarget: PublishTarget = {
  usage: "--static SITE",
  channel: true,
  addOptions(command) {
    command
      .option(
        "--static <site>",
        "write the static layout into this folder (host it on any web server or CDN)",
      )
      .option(
        "--expires <when>",
        "the channel pointer expires after this duration (30d, 12h) or at this UTC time",
      );
  },
  chosen: (opts) => opts.static !== undefined,
  async run(opts, store) {
    const { parseExpiry, publishStatic } = await import("../../static/index.ts");
    const { startProgress } = await import("../progress.ts");
    let expires: Date | undefined;
    if (opts.expires !== undefined) {
      expires = parseExpiry(opts.expires);
      if (!expires || expires.getTime() <= Date.now())
        throw new CliError(
          `--expires ${opts.expires}: give a duration (30d, 12h, 90m) or a future UTC time (2027-01-01T00:00Z)`,
        );
      if (opts.key === undefined)
        throw new CliError(
          "--expires needs --key: whoever can rewrite an unsigned pointer can take its expiry out",
        );
    }
    const key = opts.key === undefined ? undefined : await loadKeyOption(opts.key);
    if (key) warnForeignKey(store, opts.project, opts.version, key.keyId);
    const site = opts.static as string;
    const progress = await startProgress("publish", { quiet: opts.json });
    let result: ReturnType<typeof publishStatic>;
    try {
      result = publishStatic({
        site,
        store,
        project: opts.project,
        version: opts.version,
        channel: opts.channel as string,
        key,
        expires,
        onProgress: (done, total) => progress.update(done, total),
      });
    } finally {
      progress.stop();
    }
    const moved = result.previous === undefined ? "" : ` (was ${result.previous})`;
    return {
      json: { target: "static", site, ...result },
      text:
        `published ${result.project} ${result.version} to ${site}: ${result.written} file${result.written === 1 ? "" : "s"} written, ${result.skipped} already there\n` +
        `channel ${result.channel} -> ${result.version}${moved}, pointer ${result.signed ? `signed by ${key?.keyId}` : "unsigned"}` +
        `${result.pointer.expires ? `, expires ${result.pointer.expires}` : ""}\n`,
    };
  },
};

const serverTarget: PublishTarget = {
  usage: "--server URL",
  channel: true,
  addOptions(command) {
    command
      .option("--server <url>", "upload to this `mpota serve` update server (only what it lacks)")
      .option("--token <token>", "admin token for --server (default: $MPOTA_TOKEN)");
  },
  chosen: (opts) => opts.server !== undefined,
  async run(opts, store) {
    if (opts.key !== undefined || opts.expires !== undefined)
      throw new CliError(
        "--key and --expires sign static channel pointers; the server answers devices with its own",
      );
    const { adminClient, serverCall } = await import("../admin.ts");
    const { publishRelease, releaseFromStore } = await import("../../server/admin-client.ts");
    const { startProgress } = await import("../progress.ts");
    const client = await adminClient(opts);
    const progress = await startProgress("upload", { quiet: opts.json });
    const result = await serverCall(() =>
      publishRelease(client, releaseFromStore(store, opts.project, opts.version), {
        project: opts.project,
        channel: opts.channel as string,
        onProgress: (done, total) => progress.update(done, total),
      }),
    ).finally(() => progress.stop());
    return {
      json: { target: "server", server: client.baseUrl, project: opts.project, ...result },
      text:
        `published ${opts.project} ${result.version} to ${client.baseUrl}: ${result.uploaded} file${result.uploaded === 1 ? "" : "s"} uploaded, ${result.skipped} already there\n` +
        `channel ${opts.channel} -> ${result.version}\n`,
    };
  },
};

const TARGETS: readonly PublishTarget[] = [staticTarget, serverTarget, githubTarget, micropythonOtaTarget];

/** `mpota publish --static SITE|--server URL --channel C --store STORE --project P [--version V]`: make a release available. */
export function registerPublish(program: Command): void {
  const command = program
    .command("publish")
    .description("publish a release from a release store and point a channel at it")
    .requiredOption("--store <store>", "the release store `mpota release --out` wrote")
    .requiredOption("--project <name>", "the project")
    .option("--version <semver>", "the release to publish (default: the latest in the store)")
    .option("--channel <name>", "the channel to point at the release (e.g. stable; --static, --server)")
    .option("--key <keyfile>", "sign the channel pointer with this key (recommended, with --expires)")
    .option("--json", "print one JSON line describing what was published");
  for (const target of TARGETS) target.addOptions(command);
  command.action(async (opts: PublishCliOptions) => {
    const chosen = TARGETS.filter((t) => t.chosen(opts));
    const usages = TARGETS.map((t) => t.usage).join(" or ");
    if (chosen.length === 0) throw new CliError(`say where to publish: ${usages}`);
    if (chosen.length > 1)
      throw new CliError(`publish to one target at a time: ${chosen.map((t) => t.usage).join(" or ")}`);
    const target = chosen[0] as PublishTarget;
    if (target.channel && opts.channel === undefined)
      throw new CliError(`${target.usage} needs --channel (e.g. --channel stable)`);
    if (opts.channel !== undefined && !isName(opts.channel))
      throw new CliError(`--channel ${JSON.stringify(opts.channel)}: use ${NAME_RULE} (e.g. stable)`);
    if (!isName(opts.project))
      throw new CliError(`--project ${JSON.stringify(opts.project)}: use ${NAME_RULE} (e.g. greenhouse)`);
    const { existsSync } = await import("node:fs");
    if (!existsSync(opts.store)) throw new CliError(`--store ${opts.store}: no such folder`);
    const { openStore } = await import("../../store/index.ts");
    const { isVersion } = await import("../../rules/version.ts");
    const store = openStore(opts.store);
    if (opts.version !== undefined && !isVersion(opts.version))
      throw new CliError(`--version ${JSON.stringify(opts.version)}: not a semver version`);
    const version = opts.version ?? store.latestVersion(opts.project);
    if (version === undefined)
      throw new CliError(`the store ${opts.store} has no release of ${opts.project}`);
    if (!store.hasRelease(opts.project, version)) {
      const have = store.listReleases(opts.project);
      throw new CliError(
        `the store ${opts.store} has no release ${opts.project} ${version} (it has: ${have.join(", ") || "none"})`,
      );
    }
    const result = await target.run({ ...opts, version }, store);
    process.stdout.write(opts.json ? `${JSON.stringify(result.json)}\n` : result.text);
  });
}
