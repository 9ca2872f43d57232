/**
 * The rules every part of mpota holds data to, one module each: names, versions, hex digests and
 * ids, release paths, the glob dialect of file selection, and the limits of the release format. The device has the same rules
 * (device/mpota/version.py, manifest.py, src_git.py); cases.ts holds one table per rule that
 * rules.test.ts runs through both.
 */
export { globMatches, globMayMatchBelow } from "./glob.ts";
export {
  BLOB_FILE_PATTERN,
  HEX64_PATTERN,
  HEX64_RULE,
  isHex64,
  PACK_FILE_PATTERN,
  PACK_NAME_HEX,
  PATCH_FILE_PATTERN,
  packName,
  packNameParts,
  ROLLOUT_ID_PATTERN,
} from "./hex.ts";
export {
  MAX_ATTACHED_PACK,
  MAX_BLOB_BYTES,
  MAX_FILE_SIZE,
  MAX_FILES,
  MAX_LINE_BYTES,
  MAX_PATH_BYTES,
  MAX_ROLLBACK_FROM,
  MAX_SIGNATURES,
  MAX_VERSION_LENGTH,
  zlibBound,
} from "./limits.ts";
export { DEVICE_ID_PATTERN, isDeviceId, isName, NAME_PATTERN, NAME_RULE, TAG_PATTERN } from "./name.ts";
export { comparePaths, isPath, pathProblem } from "./path.ts";
export {
  compareVersions,
  isVersion,
  parseVersion,
  VERSION_PATTERN,
  type Version,
  versionProblem,
} from "./version.ts";
