/**
 * The example app (examples/greenhouse) as a flash tree and as signed releases: what the demo, the
 * benchmarks and the virtual fleet of `npm start` update.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mpotaPackage } from "../client/bundle.ts";
import { makeEnvelopePatch, makeReleasePack, makeReleasePatches } from "../delta/index.ts";
import type { SigningKey } from "../manifest/index.ts";
import { type BuiltRelease, buildRelease, type SourceFile } from "../release/index.ts";
import { loadTree } from "../sim/index.ts";
import type { ReleaseStore } from "../store/index.ts";

export const EXAMPLE_APP = fileURLToPath(new URL("../../examples/greenhouse", import.meta.url));
export const EXAMPLE_PROJECT = "greenhouse";

/** The example app as a flash tree rooted at `prefix`. */
export function exampleAppTree(prefix = ""): Record<string, Uint8Array> {
  return Object.fromEntries(
    Object.entries(loadTree(EXAMPLE_APP)).map(([path, data]) => [prefix + path, data]),
  );
}

/**
 * Flavours of the example app: `plain` is examples/greenhouse as it is; `dew-point` also prints the dew
 * point of each reading (a visible change); `crash` is `dew-point` plus a bug that raises at start,
 * before the app confirms its release, so a board on trial rolls back from it.
 */
export type ExampleVariant = "plain" | "dew-point" | "crash";

const READING_LINE = 'print("temperature %.1f C  humidity %d %%" % (t, h))';
const STARTING_LINE = 'print("greenhouse", VERSION, "starting on", machine.unique_id().hex())';

const DEW_POINT = `

def dew_point(t, h):
    # Magnus formula: the temperature at which the air's moisture condenses.
    import math

    g = math.log(h / 100) + 17.62 * t / (243.12 + t)
    return 243.12 * g / (17.62 - g)
`;

function replaceOnce(source: string, from: string, to: string): string {
  if (!source.includes(from))
    throw new Error(`examples/greenhouse/main.py no longer has ${from}: update src/demo/example.ts`);
  return source.replace(from, to);
}

/** The example app's main.py for `version` in flavour `variant`. */
export function exampleMain(version: string, variant: ExampleVariant = "plain"): string {
  let main = readFileSync(join(EXAMPLE_APP, "main.py"), "utf8");
  main = replaceOnce(main, 'VERSION = "1.0.0"', `VERSION = ${JSON.stringify(version)}`);
  if (variant === "plain") return main;
  main = replaceOnce(main, "\n\ndef main(", `${DEW_POINT}\n\ndef main(`);
  main = replaceOnce(
    main,
    READING_LINE,
    'print("temperature %.1f C  humidity %d %%  dew point %.1f C" % (t, h, dew_point(t, h)))',
  );
  if (variant === "crash")
    main = replaceOnce(
      main,
      STARTING_LINE,
      `${STARTING_LINE}\n    print("pressure %d hPa" % sensors.read_pressure())  # a sensor this board does not have`,
    );
  return main;
}

/**
 * Builds release `version` of the example app (project "greenhouse") in flavour `variant` into `store`,
 * signed with `key`: the mpota package added at lib/mpota/ (so the board can update again), delta
 * patches and update packs from the store's earlier releases (so a board downloads only what changed).
 */
export async function exampleRelease(
  store: ReleaseStore,
  key: SigningKey,
  version: string,
  variant: ExampleVariant = "plain",
): Promise<BuiltRelease> {
  const main = Buffer.from(exampleMain(version, variant));
  return buildRelease({
    dir: EXAMPLE_APP,
    project: EXAMPLE_PROJECT,
    version,
    key,
    store,
    mpotaPackage: mpotaPackage(),
    makePatches: makeReleasePatches,
    makeEnvelopePatch,
    makePack: makeReleasePack,
    transform: (files: SourceFile[]) =>
      files.map((file) => (file.path === "main.py" ? { path: file.path, read: () => main } : file)),
  });
}
