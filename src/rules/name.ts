/**
 * Names: project and channel names, device ids and tags.
 *
 * Project and channel names: 1 to 64 characters a-z 0-9 . _ -, starting with a letter or digit.
 * The device's rule is device/mpota/version.py `is_name`; rules.test.ts runs one table through both.
 */

/** The rule as people read it in messages. */
export const NAME_RULE = "[a-z0-9][a-z0-9._-]{0,63}";
/** The rule as a JSON Schema / typebox pattern. */
export const NAME_PATTERN = `^${NAME_RULE}$`;

const NAME = new RegExp(NAME_PATTERN);

export function isName(v: unknown): v is string {
  return typeof v === "string" && NAME.test(v);
}

/**
 * Device ids, as the server names boards and a server config's `device_id` (device/mpota/config.py
 * `_device_id`): 1 to 128 characters A-Z a-z 0-9 . _ : -, starting with a letter or digit.
 */
export const DEVICE_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$";
/** Device tags (rollout groups): as device ids, at most 64 characters. */
export const TAG_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$";

const DEVICE_ID = new RegExp(DEVICE_ID_PATTERN);

export function isDeviceId(v: unknown): v is string {
  return typeof v === "string" && DEVICE_ID.test(v);
}
