/** typebox pieces the routes share. */
import Type from "typebox";
import { MAX_VERSION_LENGTH } from "../rules/limits.ts";
import { NAME_PATTERN, NAME_RULE } from "../rules/name.ts";
import { VERSION_PATTERN } from "../rules/version.ts";

export const Name = Type.String({ pattern: NAME_PATTERN });
/** A channel pointer's file: `<channel>.json`, as the static layout names it. */
export const ChannelFile = Type.String({ pattern: `^${NAME_RULE}\\.json$` });
export const Version = Type.String({ pattern: VERSION_PATTERN, maxLength: MAX_VERSION_LENGTH });
export const DeviceId = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$" });
export const Tag = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$" });
export const Hex64 = Type.String({ pattern: "^[0-9a-f]{64}$" });
export const ProjectParams = Type.Object({ project: Name });
/** Query numbers arrive as strings (no type coercion: a wrong type is an error, not a guess). */
export const Count = Type.String({ pattern: "^[0-9]{1,6}$" });
export const strict = { additionalProperties: false } as const;
