/** typebox pieces the routes share. */
import Type from "typebox";

export const Name = Type.String({ pattern: "^[a-z0-9][a-z0-9._-]{0,63}$" });
export const Version = Type.String({
  pattern:
    "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-((0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)(\\.(0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*))*))?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$",
  maxLength: 128,
});
export const DeviceId = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$" });
export const Tag = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$" });
export const Hex64 = Type.String({ pattern: "^[0-9a-f]{64}$" });
export const ProjectParams = Type.Object({ project: Name });
/** Query numbers arrive as strings (no type coercion: a wrong type is an error, not a guess). */
export const Count = Type.String({ pattern: "^[0-9]{1,6}$" });
export const strict = { additionalProperties: false } as const;
