/**
 * Publish targets for boards that follow a repository or a micropython_ota server instead of an mpota
 * site: `--github OWNER/REPO` (the envelope as the manifest.json asset of the tag's GitHub release)
 * and `--micropython-ota DIR` (the release's files in that library's layout). Listed in publish.ts.
 */
import type { Command } from "commander";
import { CliError } from "../errors.ts";
import type { PublishCliOptions, PublishTarget } from "./publish.ts";

interface SourceOptions extends PublishCliOptions {
  github?: string;
  githubApi?: string;
  githubToken?: string;
  micropythonOta?: string;
  tag?: string;
  versionPrefix?: boolean;
}

const noPointer = (opts: SourceOptions, usage: string) => {
  if (opts.key !== undefined || opts.expires !== undefined || opts.channel !== undefined)
    throw new CliError(`${usage} has no channel pointer: leave out --channel, --key and --expires`);
};

export const githubTarget: PublishTarget = {
  usage: "--github OWNER/REPO",
  channel: false,
  addOptions(command: Command) {
    command
      .option("--github <repo>", "attach the envelope as manifest.json to the GitHub release of --tag")
      .option(
        "--github-api <url>",
        "GitHub API base (GitHub Enterprise: https://HOST/api/v3)",
        "https://api.github.com",
      )
      .option("--github-token <token>", "a token that may write releases (default: $GITHUB_TOKEN)")
      .option(
        "--tag <tag>",
        "the GitHub release's tag (--github) or the version's tag (--micropython-ota) (default: v<version>, <version>)",
      );
  },
  chosen: (opts) => (opts as SourceOptions).github !== undefined,
  async run(options, store) {
    const opts = options as SourceOptions & { version: string };
    noPointer(opts, "--github");
    const token = opts.githubToken ?? process.env.GITHUB_TOKEN;
    if (!token)
      throw new CliError("--github needs a token that may write releases: --github-token or $GITHUB_TOKEN");
    const { publishGitHub } = await import("../../sources/index.ts");
    const tag = opts.tag ?? `v${opts.version}`;
    const envelope = store.readRelease(opts.project, opts.version).bytes;
    try {
      const result = await publishGitHub({
        api: opts.githubApi,
        repo: opts.github as string,
        token,
        tag,
        envelope,
      });
      return {
        json: {
          target: "github",
          repo: opts.github,
          tag,
          project: opts.project,
          version: opts.version,
          ...result,
        },
        text:
          `published ${opts.project} ${opts.version} to ${opts.github} release ${tag}: manifest.json ${result.replaced ? "replaced" : "attached"}` +
          `${result.created ? " (release created)" : ""}\n`,
      };
    } catch (e) {
      if (e instanceof TypeError)
        throw new CliError(`--github: cannot reach ${opts.githubApi}: ${e.message}`);
      throw e;
    }
  },
};

export const micropythonOtaTarget: PublishTarget = {
  usage: "--micropython-ota DIR",
  channel: false,
  addOptions(command: Command) {
    command
      .option(
        "--micropython-ota <dir>",
        "write the release's files in the micropython_ota layout into this folder",
      )
      .option(
        "--no-version-prefix",
        "--micropython-ota: <tag>/<file> instead of <tag>_<file> (use_version_prefix=False)",
      );
  },
  chosen: (opts) => (opts as SourceOptions).micropythonOta !== undefined,
  async run(options, store) {
    const opts = options as SourceOptions & { version: string };
    noPointer(opts, "--micropython-ota");
    const { publishMicropythonOta } = await import("../../sources/index.ts");
    const dir = opts.micropythonOta as string;
    let result: ReturnType<typeof publishMicropythonOta>;
    try {
      result = publishMicropythonOta({
        store,
        project: opts.project,
        version: opts.version,
        dir,
        tag: opts.tag,
        useVersionPrefix: opts.versionPrefix !== false,
      });
    } catch (e) {
      throw new CliError(`--micropython-ota ${dir}: ${(e as Error).message}`);
    }
    return {
      json: { target: "micropython_ota", dir, project: opts.project, version: opts.version, ...result },
      text:
        `published ${opts.project} ${opts.version} to ${dir}/${opts.project} as version ${result.tag}: ${result.written.length - 1} files, version file last\n` +
        `boards call ota_update(host, ${JSON.stringify(opts.project)}, ${JSON.stringify(result.filenames)}${opts.versionPrefix === false ? ", use_version_prefix=False" : ""})\n`,
    };
  },
};
