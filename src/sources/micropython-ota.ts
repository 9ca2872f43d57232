/**
 * The layout of the micropython_ota library (olivergregorius/micropython_ota): a plain web server
 * folder with `<project>/version` (the version tag, e.g. `v1.0.0`) and each file beside it as
 * `<project>/<version>_<filename>`, or `<project>/<version>/<filename>` when the devices call
 * ota_update(..., use_version_prefix=False). `writeMicropythonOta` writes it (`mpota publish
 * --micropython-ota`; testing/micropython-ota-server.ts serves such a folder to boards under test).
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeFolder, writeFileAtomic } from "../store/index.ts";

export interface MicropythonOtaRelease {
  project: string;
  /** The version tag the devices compare as a string (any text without a newline). */
  version: string;
  /** By path relative to the board's root ("main.py", "lib/util.py"). */
  files: Record<string, Uint8Array | string>;
  /** true (the library's default): `<version>_<file>`; false: `<version>/<file>`. */
  useVersionPrefix?: boolean;
}

/** The URL path of one file of a release below the server root. */
export function micropythonOtaPath(
  project: string,
  version: string,
  file: string,
  useVersionPrefix = true,
): string {
  return `${project}/${version}${useVersionPrefix ? "_" : "/"}${file}`;
}

/** No empty, "." or ".." part: the path stays below the folder it is joined to. */
const isRelative = (path: string) => path.split("/").every((p) => p !== "" && p !== "." && p !== "..");

/**
 * Writes a release into the layout under `root`: every file first, then `<project>/version` by rename,
 * so a device reading the folder meanwhile sees the old version or the new one. Older versions' files
 * stay (the library's documented way back is to write an older tag into `version`).
 */
export function writeMicropythonOta(root: string, release: MicropythonOtaRelease): string[] {
  const { project, version } = release;
  if (!version || /[\r\n/\\]/.test(version))
    throw new Error(`version tag "${version}" must be one line without slashes`);
  if (!isRelative(project)) throw new Error(`project "${project}" must be a relative folder name`);
  const written: string[] = [];
  for (const [file, data] of Object.entries(release.files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!isRelative(file) || file.includes("\\"))
      throw new Error(`file name "${file}" must be a relative path`);
    const rel = micropythonOtaPath(project, version, file, release.useVersionPrefix ?? true);
    const target = join(root, ...rel.split("/"));
    makeFolder(dirname(target));
    writeFileSync(target, data);
    written.push(rel);
  }
  writeFileAtomic(join(root, project, "version"), `${version}\n`);
  written.push(`${project}/version`);
  return written;
}
