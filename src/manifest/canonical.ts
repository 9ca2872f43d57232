/**
 * Canonical JSON (docs/protocol.md): sorted keys, no whitespace, integers only, and the `files`
 * array of the top-level object one element per line, so a device can read a manifest line by line.
 */
import { ManifestError } from "./errors.ts";

/** Object keys in UTF-16 code unit order (what `Array.prototype.sort` does with no comparator). */
const sortedKeys = (value: object) => Object.keys(value).sort();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function encode(value: unknown, at: string, top: boolean): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value))
      throw new ManifestError(
        `${at || "value"}: ${value} is not an integer below 2^53 (canonical JSON has no floats)`,
      );
    return Object.is(value, -0) ? "0" : String(value);
  }
  if (Array.isArray(value))
    return `[${value.map((item, i) => encode(item, `${at}[${i}]`, false)).join(",")}]`;
  if (isPlainObject(value)) {
    const members: string[] = [];
    for (const key of sortedKeys(value)) {
      const item = value[key];
      if (item === undefined) continue; // as JSON.stringify: an absent optional field
      const field = at ? `${at}.${key}` : key;
      if (top && key === "files" && Array.isArray(item)) {
        const lines = item.map((entry, i) => encode(entry, `${field}[${i}]`, false));
        members.push(`"files":[\n${lines.length > 0 ? `${lines.join(",\n")}\n` : ""}]`);
      } else {
        members.push(`${JSON.stringify(key)}:${encode(item, field, false)}`);
      }
    }
    return `{${members.join(",")}}`;
  }
  const kind = typeof value === "object" ? value.constructor.name : typeof value;
  throw new ManifestError(`${at || "value"}: cannot be written as canonical JSON (${kind})`);
}

/** The canonical JSON text of `value`; ManifestError naming the field JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  return encode(value, "", true);
}

/** The canonical bytes (UTF-8) of `value`: what signatures are made over. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}
