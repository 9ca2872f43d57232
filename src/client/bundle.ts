/**
 * What a board needs before its first update (`mpota device bundle`): the loader /boot.py, the config
 * /ota_config.json, a first release installed in slot 0 with its verified envelope beside it
 * (/.mpota/slot0.json), and the first state record. Without a release, slot 0 holds a bootstrap
 * "0.0.0" (the mpota package and a main.py that installs the channel's release at first boot).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  envelopeBytes,
  type Manifest,
  parseReleaseEnvelope,
  sha256Hex,
  verifyEnvelope,
} from "../manifest/index.ts";
import { sitePaths } from "../static/index.ts";
import { inflateBlob, openStore } from "../store/index.ts";
import { encodeStateRecord, firstStateRecord, STATE_COPIES } from "./state-record.ts";

export interface ReleaseSource {
  /** The release envelope exactly as published. */
  envelope: Uint8Array;
  /** A blob (the zlib stream of a file) by the SHA-256 of the file it holds. */
  blob: (sha256: string) => Uint8Array;
}

export const BOOTSTRAP_VERSION = "0.0.0";
const DEVICE_DIR = fileURLToPath(new URL("../../device/", import.meta.url));

/** The loader, as /boot.py. */
export function loaderSource(): Uint8Array {
  return readFileSync(`${DEVICE_DIR}boot.py`);
}

/** The device package device/mpota/*.py as a tree under `prefix` (where a release carries it). */
export function mpotaPackage(prefix = "lib/mpota/"): Record<string, Uint8Array> {
  const tree: Record<string, Uint8Array> = {};
  for (const name of readdirSync(`${DEVICE_DIR}mpota`).sort())
    if (name.endsWith(".py")) tree[prefix + name] = readFileSync(`${DEVICE_DIR}mpota/${name}`);
  return tree;
}

const compiled = new Map<string, Promise<Uint8Array>>();

/**
 * The device package as releases ship it by default (`mpota release`, `mpota device bundle`):
 * __init__.py as source (small: it loads the rest), every other module compiled to .mpy (a board that
 * compiles .py needs far more RAM than running it), and their sources in py/, which __init__.py falls
 * back to on a firmware that cannot load .mpy files of this format (MicroPython 1.19 to 1.27 can).
 * Each .mpy names its source as its module ("mpota.http"), which tracebacks show: the board interns
 * that name anyway when it imports the module, where a path would be one more interned name per
 * module (names are never freed, and past about 630 of them an update pays a 4.5 KB name pool).
 */
export async function shippedMpotaPackage(prefix = "lib/mpota/"): Promise<Record<string, Uint8Array>> {
  const { compileMpy } = await import("../mpy/index.ts");
  const tree: Record<string, Uint8Array> = {};
  for (const [name, data] of Object.entries(mpotaPackage(""))) {
    if (name === "__init__.py") {
      tree[prefix + name] = data;
      continue;
    }
    const key = `${prefix}${name}\0${Buffer.from(data).toString("latin1")}`;
    if (!compiled.has(key)) compiled.set(key, compileMpy(`mpota.${name.slice(0, -3)}`, data));
    tree[`${prefix}${name.slice(0, -3)}.mpy`] = await compiled.get(key)!;
    tree[`${prefix}py/${name}`] = data;
  }
  return tree;
}

const BOOTSTRAP_MAIN = `# mpota bootstrap: no release is installed yet; fetch the channel's release and reset into it.
import mpota
print("mpota: no release installed yet, installing the first one")
print("mpota:", mpota.update())
`;

/**
 * Release `version` of `project` (default: the newest) from a release store (`mpota release --out`:
 * releases/<project>/<version>/manifest.json, blobs/) or a static site (`<project>/releases/<v>.json`,
 * `<project>/blobs/`). Error naming what is missing.
 */
export function releaseFrom(
  dir: string,
  project: string,
  version?: string,
): ReleaseSource & { version: string } {
  const site = sitePaths(dir, project);
  if (existsSync(join(site.root, "releases"))) {
    if (version === undefined) throw new Error(`${dir} is a static site: name the release to bundle`);
    const file = site.release(version);
    if (!existsSync(file)) throw new Error(`no release ${version} of ${project} in ${dir} (no ${file})`);
    return { version, envelope: readFileSync(file), blob: (sha) => readFileSync(site.blob(sha)) };
  }
  const store = openStore(dir);
  const chosen = version ?? store.latestVersion(project);
  if (chosen === undefined) throw new Error(`no release of ${project} in ${dir}`);
  return {
    version: chosen,
    envelope: store.readRelease(project, chosen).bytes,
    blob: (sha) => store.readBlob(sha),
  };
}

/** The signed manifest of an envelope in the exact published layout, signed by a key of `keys`. */
export function verifiedManifest(envelope: Uint8Array, keys: string[]): Manifest {
  const parsed = parseReleaseEnvelope(envelope);
  if (!envelopeBytes(parsed).equals(Buffer.from(envelope)))
    throw new Error(
      "the release envelope is not in the layout of docs/protocol.md (the board could not read it)",
    );
  verifyEnvelope(parsed, keys);
  return parsed.signed;
}

/** The files of a board ready to run: device paths -> bytes. `mpotaPackage` defaults to device/mpota. */
export function bundleFiles(options: {
  config: { project: string; keys: string[] };
  configJson: string;
  mpotaPackage?: Record<string, Uint8Array>;
  release?: ReleaseSource;
}): { files: Record<string, Uint8Array>; version: string } {
  const files: Record<string, Uint8Array> = {
    "boot.py": loaderSource(),
    "ota_config.json": Buffer.from(options.configJson),
    "data/": new Uint8Array(0),
  };
  let version = BOOTSTRAP_VERSION;
  if (options.release) {
    const manifest = verifiedManifest(options.release.envelope, options.config.keys);
    if (manifest.project !== options.config.project)
      throw new Error(
        `the release is for project "${manifest.project}", the config for "${options.config.project}"`,
      );
    version = manifest.version;
    for (const entry of manifest.files) {
      const data = inflateBlob(options.release.blob(entry.sha256), entry.size);
      if (data.length !== entry.size || sha256Hex(data) !== entry.sha256)
        throw new Error(`the blob of ${entry.path} does not match the manifest`);
      files[`.mpota/slot0/${entry.path}`] = data;
    }
    files[".mpota/slot0.json"] = options.release.envelope;
  } else {
    for (const [path, data] of Object.entries(options.mpotaPackage ?? mpotaPackage()))
      files[`.mpota/slot0/${path}`] = data;
    files[".mpota/slot0/main.py"] = Buffer.from(BOOTSTRAP_MAIN);
  }
  files[STATE_COPIES[0]] = encodeStateRecord(firstStateRecord(version));
  return { files, version };
}
