import { resolve } from "node:path";
import type { Command } from "commander";
import { isName, NAME_RULE } from "../../rules/name.ts";
import { CliError } from "../errors.ts";

interface ReleaseCliOptions {
  git?: string;
  repo?: string;
  allow: string[];
  ignore: string[];
  project: string;
  version: string;
  key: string;
  out: string;
  rollback?: boolean;
  rollbackFrom?: string;
  postUpdate?: string;
  onRollback?: string;
  minLoader?: string;
  mpy?: boolean;
  keepPy: string[];
  patches: string;
  signedPatches?: boolean;
  json?: boolean;
  mpota: boolean;
  main: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Loads a signing key for --key, warning on stderr when the file is readable by others. */
export async function loadKeyOption(file: string) {
  const { keyFileWarning, loadPrivateKey } = await import("../../manifest/index.ts");
  const key = loadPrivateKey(file);
  const warning = keyFileWarning(file);
  if (warning) process.stderr.write(`warning: ${warning}\n`);
  return key;
}

/** `mpota release DIR|--git REF --project P --version V --key K --out STORE`: build and sign a release. */
export function registerRelease(program: Command): void {
  program
    .command("release")
    .description("build a signed release of a folder (or a git ref) into a release store")
    .argument(
      "[dir]",
      "the folder to release; with --git, a folder inside the repository (default: all of it)",
    )
    .option("--git <ref>", "release the files of this git commit, tag or branch (no checkout needed)")
    .option("--repo <path>", "the git repository for --git", ".")
    .option("--allow <path>", "only this file or folder (repeatable)", collect, [])
    .option("--ignore <path>", "leave out this file or folder; wins over --allow (repeatable)", collect, [])
    .requiredOption("--project <name>", "project name ([a-z0-9][a-z0-9._-]{0,63})")
    .requiredOption("--version <semver>", "release version (semver, greater than the last one)")
    .requiredOption("--key <keyfile>", "private key from `mpota keygen`")
    .requiredOption("--out <store>", "release store folder (created if missing)")
    .option("--rollback", "a signed rollback release: devices accept it although it is older")
    .option(
      "--rollback-from <versions>",
      "with --rollback: the releases (comma-separated) boards may leave for this one; boards on others refuse it",
    )
    .option("--post-update <file>", "a file of the release the device runs once after installing it")
    .option("--on-rollback <file>", "a file of the release the device runs once after rolling back from it")
    .option("--min-loader <n>", "the lowest boot.py loader version that can run this release")
    .option("--mpy", "ship .py modules compiled to .mpy (format 6: MicroPython 1.19 and later)")
    .option("--keep-py <glob>", "with --mpy, ship files matching this as source (repeatable)", collect, [])
    .option(
      "--patches <n>",
      "make delta patches and update packs from the last N releases of the project (0: none)",
      "3",
    )
    .option(
      "--signed-patches",
      "also list each file's patches in the signed manifest, for boards from before update packs",
    )
    .option(
      "--no-mpota",
      "do not add the mpota package at lib/mpota/ (boards with mpota frozen into their firmware)",
    )
    .option("--no-main", "accept a release without main.py (boards running it stop at boot, saying so)")
    .option("--json", "print one JSON line describing the release")
    .action(async (dir: string | undefined, opts: ReleaseCliOptions) => {
      if (opts.git === undefined && dir === undefined)
        throw new CliError("give the folder to release (mpota release DIR …) or --git REF");
      const { isVersion } = await import("../../rules/version.ts");
      if (!isName(opts.project))
        throw new CliError(`--project ${JSON.stringify(opts.project)}: use ${NAME_RULE} (e.g. greenhouse)`);
      if (!isVersion(opts.version))
        throw new CliError(
          `--version ${JSON.stringify(opts.version)}: not a semver version (e.g. 1.2.0 or 1.2.0-rc.1)`,
        );
      if (opts.minLoader !== undefined && !/^\d{1,7}$/.test(opts.minLoader))
        throw new CliError(`--min-loader ${JSON.stringify(opts.minLoader)}: not a whole number`);
      if (!/^\d{1,2}$/.test(opts.patches))
        throw new CliError(
          `--patches ${JSON.stringify(opts.patches)}: give how many earlier releases, 0 to 99`,
        );
      if (opts.keepPy.length > 0 && !opts.mpy) throw new CliError("--keep-py only applies with --mpy");
      const key = await loadKeyOption(opts.key);
      const { buildRelease } = await import("../../release/index.ts");
      const { makeEnvelopePatch, makeReleasePack, makeReleasePatches } = await import("../../delta/index.ts");
      const { mpySources } = await import("../../mpy/index.ts");
      const { shippedMpotaPackage } = await import("../../client/bundle.ts");
      const patchBases = Number(opts.patches);
      const shipped = opts.mpota ? await shippedMpotaPackage() : undefined;
      const { openStore } = await import("../../store/index.ts");
      const { startProgress } = await import("../progress.ts");
      const store = openStore(opts.out);
      const progress = await startProgress("release", { quiet: opts.json });
      const hooks = {
        ...(opts.postUpdate === undefined ? {} : { post_update: opts.postUpdate }),
        ...(opts.onRollback === undefined ? {} : { rollback: opts.onRollback }),
      };
      const built = await buildRelease({
        dir,
        gitRef: opts.git,
        repo: opts.repo,
        allow: opts.allow,
        ignore: opts.ignore,
        project: opts.project,
        version: opts.version,
        key,
        store,
        rollback: opts.rollback,
        rollbackFrom: opts.rollbackFrom?.split(",").map((v) => v.trim()),
        hooks,
        minLoader: opts.minLoader === undefined ? undefined : Number(opts.minLoader),
        exclude: [resolve(opts.key)],
        transform: opts.mpy ? mpySources({ keepPy: opts.keepPy, source: Object.values(hooks) }) : undefined,
        makePatches: patchBases > 0 ? makeReleasePatches : undefined,
        makeEnvelopePatch: patchBases > 0 ? makeEnvelopePatch : undefined,
        makePack: patchBases > 0 ? makeReleasePack : undefined,
        signedPatches: opts.signedPatches === true,
        patchBases,
        mpotaPackage: shipped,
        requireMain: opts.main,
        onProgress: (e) => {
          if (e.total > 1) progress.update(e.done, e.total, e.phase);
        },
      }).finally(() => progress.stop());
      const files = built.envelope.signed.files.length;
      const manifest = store.manifestPath(opts.project, opts.version);
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({
            project: opts.project,
            version: opts.version,
            rollback: opts.rollback === true,
            files,
            size: built.size,
            zsize: built.zsize,
            newBlobs: built.newBlobs,
            patches: built.patches,
            packs: built.packs,
            sha256: built.sha256,
            keyId: key.keyId,
            manifest,
          })}\n`,
        );
        return;
      }
      process.stdout.write(
        `release ${opts.project} ${opts.version}${opts.rollback ? " (rollback)" : ""}: ${files} file${files === 1 ? "" : "s"}, ` +
          `${sizeText(built.size)} (${sizeText(built.zsize)} compressed), ${built.newBlobs} new blob${built.newBlobs === 1 ? "" : "s"}, ` +
          (built.patches > 0 ? `${built.patches} patch${built.patches === 1 ? "" : "es"}, ` : "") +
          (built.packs > 0 ? `${built.packs} update pack${built.packs === 1 ? "" : "s"}, ` : "") +
          `signed with key ${key.keyId}\nwrote ${manifest}\n`,
      );
    });
}
