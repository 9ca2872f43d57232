/** typebox pieces the routes share. */
import Type from "typebox";
import {
  BLOB_FILE_PATTERN,
  HEX64_PATTERN,
  PACK_FILE_PATTERN,
  PATCH_FILE_PATTERN,
  ROLLOUT_ID_PATTERN,
} from "../rules/hex.ts";
import { MAX_VERSION_LENGTH } from "../rules/limits.ts";
import { DEVICE_ID_PATTERN, NAME_PATTERN, NAME_RULE, TAG_PATTERN } from "../rules/name.ts";
import { VERSION_PATTERN } from "../rules/version.ts";

export const Name = Type.String({ pattern: NAME_PATTERN });
/** A channel pointer's file: `<channel>.json`, as the static layout names it. */
/** A channel's pointer (`<channel>.json`) or its check answer with an update pack (`<channel>.pack`). */
export const ChannelFile = Type.String({ pattern: `^${NAME_RULE}\\.(json|up|pack)$` });
export const Version = Type.String({ pattern: VERSION_PATTERN, maxLength: MAX_VERSION_LENGTH });
export const DeviceId = Type.String({ pattern: DEVICE_ID_PATTERN });
export const Tag = Type.String({ pattern: TAG_PATTERN });
export const Hex64 = Type.String({ pattern: HEX64_PATTERN });
/** Static-layout file names: `<sha256>.z`, `<from>-<to>.fz` and `<from16>-<to16>.pack`. */
export const BlobFile = Type.String({ pattern: BLOB_FILE_PATTERN });
export const PatchFile = Type.String({ pattern: PATCH_FILE_PATTERN });
export const PackFile = Type.String({ pattern: PACK_FILE_PATTERN });
export const RolloutId = Type.String({ pattern: ROLLOUT_ID_PATTERN });
export const ProjectParams = Type.Object({ project: Name });
/** Query numbers arrive as strings (no type coercion: a wrong type is an error, not a guess). */
export const Count = Type.String({ pattern: "^[0-9]{1,6}$" });
export const strict = { additionalProperties: false } as const;
