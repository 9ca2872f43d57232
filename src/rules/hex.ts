/**
 * Hex strings: SHA-256 digests (file contents, blob and patch names, token hashes) and Ed25519 public
 * keys are 64 lowercase hex characters everywhere. The device's rule is device/mpota/manifest.py
 * `is_hex(v, 64)` (and config.py `_key`); rules.test.ts runs one table through each.
 */

/** `n` lowercase hex characters, as a piece of a larger pattern. */
export const hexRule = (n: number) => `[0-9a-f]{${n}}`;
/** 64 lowercase hex characters, as a piece of a larger pattern. */
export const HEX64_RULE = hexRule(64);
/** The rule as a JSON Schema / typebox pattern. */
export const HEX64_PATTERN = `^${HEX64_RULE}$`;

const HEX64 = new RegExp(HEX64_PATTERN);

export function isHex64(v: unknown): v is string {
  return typeof v === "string" && HEX64.test(v);
}

/** A blob's file name in the static layout: `<sha256>.z`. */
export const BLOB_FILE_PATTERN = `^${HEX64_RULE}\\.z$`;
/** A patch's file name in the static layout: `<from sha256>-<to sha256>.fz`. */
export const PATCH_FILE_PATTERN = `^${HEX64_RULE}-${HEX64_RULE}\\.fz$`;
/**
 * An update pack's file name: the first 16 hex digits of the SHA-256 of the running envelope and of the
 * new one (`<from16>-<to16>.pack`). A board asks for it on every update, and nothing in a pack is trusted
 * (what it makes is checked against the pointer and the signed manifest), so 64 bits name it well enough
 * at 96 bytes less per request than two whole hashes.
 */
export const PACK_FILE_PATTERN = `^${hexRule(16)}-${hexRule(16)}\\.pack$`;
/** How many hex digits of each envelope's SHA-256 an update pack's name carries. */
export const PACK_NAME_HEX = 16;

/** The update pack's file name from the envelope whose SHA-256 is `from` to the one whose SHA-256 is `to`. */
export function packName(from: string, to: string): string {
  return `${from.slice(0, PACK_NAME_HEX)}-${to.slice(0, PACK_NAME_HEX)}.pack`;
}

/** The two SHA-256 prefixes of an update pack's file name. */
export function packNameParts(name: string): { from: string; to: string } {
  const [from = "", to = ""] = name.slice(0, -".pack".length).split("-");
  return { from, to };
}

/** A signing key's id (the first 16 hex characters of its public key's SHA-256). */
export const KEY_ID_PATTERN = `^${hexRule(16)}$`;
/** An Ed25519 signature: 128 lowercase hex characters. */
export const SIGNATURE_PATTERN = `^${hexRule(128)}$`;

/** A rollout's id, as the server makes them (a UUID). */
export const ROLLOUT_ID_PATTERN = "^[0-9a-f-]{36}$";
