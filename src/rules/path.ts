/**
 * Release paths, as manifests name files and configs name them: relative, `/`-separated, no empty,
 * `.` or `..` segment, no `\`, no control character (DEL included), at most MAX_PATH_BYTES of UTF-8.
 * The device's rule is device/mpota/manifest.py `path_ok`; rules.test.ts runs one table through both.
 */
import { MAX_PATH_BYTES } from "./limits.ts";

/** What is wrong with a release path, or undefined. */
export function pathProblem(path: string): string | undefined {
  if (path === "") return "is empty";
  if (path.startsWith("/")) return 'is absolute (starts with "/")';
  if (path.includes("\\")) return "contains a backslash";
  if (path.includes("\0")) return "contains a NUL character";
  if ([...path].some((ch) => ch < " " || ch === "\x7f")) return "contains a control character";
  const segments = path.split("/");
  if (segments.includes("..")) return 'contains ".."';
  if (segments.includes(".")) return 'contains a "." segment';
  if (segments.includes("")) return 'has an empty segment ("//" or a trailing "/")';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  return undefined;
}

export function isPath(v: unknown): v is string {
  return typeof v === "string" && pathProblem(v) === undefined;
}

/** Release paths in the order manifests list them: by UTF-8 bytes (= code points, as the device sorts). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
