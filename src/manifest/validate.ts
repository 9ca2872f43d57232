/**
 * Strict validation of manifests and channel pointers: the typebox schemas for shapes and formats,
 * then the rules across fields of docs/protocol.md. Every message names its field
 * (`files[3].path: contains ".."`), so a person can find the mistake.
 */
import type { TSchema } from "typebox";
import { Compile } from "typebox/compile";
import type { TLocalizedValidationError } from "typebox/error";
import { MAX_LINE_BYTES, zlibBound } from "../rules/limits.ts";
import { comparePaths, pathProblem } from "../rules/path.ts";
import { compareVersions, isVersion, parseVersion } from "../rules/version.ts";
import { canonicalJson } from "./canonical.ts";
import { ManifestError } from "./errors.ts";
import { ChannelPointer, type FileEntry, FORMATS, Manifest } from "./schema.ts";

const checkers = new Map<TSchema, ReturnType<typeof Compile>>();
function checkerOf(schema: TSchema) {
  let checker = checkers.get(schema);
  if (!checker) {
    checker = Compile(schema);
    checkers.set(schema, checker);
  }
  return checker;
}

/** `/files/3/path` → `files[3].path` (under `prefix`, e.g. `signed`). */
function fieldName(pointer: string, prefix: string): string {
  let out = prefix;
  for (const part of pointer.split("/").slice(1)) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out;
}

const A_TYPE: Record<string, string> = {
  integer: "an integer",
  number: "a number",
  string: "a string",
  object: "an object",
  array: "a list",
  boolean: "true or false",
};
const WANTS = new Map<string, string>(Object.values(FORMATS).map((f) => [f.pattern, f.wants]));

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function valueAt(root: unknown, pointer: string): unknown {
  let value = root;
  for (const part of pointer.split("/").slice(1))
    value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}

function schemaMessages(error: TLocalizedValidationError, root: unknown, prefix: string): string[] {
  const at = fieldName(error.instancePath, prefix);
  const field = (name: string) => (at ? `${at}.${name}` : name);
  const value = valueAt(root, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return (params.requiredProperties as string[])
        .filter((name) => (value as Record<string, unknown>)?.[name] === undefined)
        .map((name) => `${field(name)}: missing`);
    case "boolean":
      return [`${at}: unknown field`];
    case "additionalProperties":
      return []; // each extra field has its own "boolean" error
    case "type":
      if (value === undefined) return [`${at}: missing`];
      return [`${at || "value"}: must be ${A_TYPE[String(params.type)] ?? params.type}, not ${shown(value)}`];
    case "const":
      return [`${at}: must be ${shown(params.allowedValue)}, not ${shown(value)}`];
    case "minimum":
      return [`${at}: must be at least ${params.limit}, not ${shown(value)}`];
    case "maximum":
      return [`${at}: must be at most ${params.limit}, not ${shown(value)}`];
    case "maxItems":
      return [`${at}: has more than ${params.limit} entries`];
    case "minItems":
      return [
        params.limit === 1 ? `${at}: must not be empty` : `${at}: has fewer than ${params.limit} entries`,
      ];
    case "maxLength":
      return [`${at}: is longer than ${params.limit} characters`];
    case "pattern":
      return [
        `${at}: must be ${WANTS.get(String(params.pattern)) ?? `like ${params.pattern}`}, not ${shown(value)}`,
      ];
    default:
      return [`${at || "value"}: ${error.message}`];
  }
}

/** Problems with `value` against `schema`, one message per mistake. */
export function schemaProblems(schema: TSchema, value: unknown, prefix = ""): string[] {
  const checker = checkerOf(schema);
  if (checker.Check(value)) return [];
  return [...checker.Errors(value)].flatMap((error) => schemaMessages(error, value, prefix));
}

function filesProblems(files: FileEntry[], prefix: string): string[] {
  const problems: string[] = [];
  const byLower = new Map<string, number>();
  files.forEach((file, i) => {
    const at = `${prefix}files[${i}]`;
    const bad = pathProblem(file.path);
    if (bad) {
      problems.push(`${at}.path: ${bad}`);
      return;
    }
    const lower = file.path.toLowerCase();
    const twin = byLower.get(lower);
    if (twin !== undefined) {
      const other = files[twin]?.path;
      problems.push(
        other === file.path
          ? `${at}.path: duplicates ${prefix}files[${twin}].path (${shown(other)})`
          : `${at}.path: differs only in case from ${prefix}files[${twin}].path (${shown(other)})`,
      );
    } else byLower.set(lower, i);
    const previous = files[i - 1]?.path;
    if (previous !== undefined && previous !== file.path && comparePaths(previous, file.path) > 0)
      problems.push(`${at}.path: not sorted (${shown(file.path)} must come before ${shown(previous)})`);
    if (file.blobs.zlib > zlibBound(file.size))
      problems.push(
        `${at}.blobs.zlib: ${file.blobs.zlib} is more than zlib makes of ${file.size} bytes (${zlibBound(file.size)})`,
      );
  });
  files.forEach((file, i) => {
    const parts = file.path.toLowerCase().split("/");
    for (let depth = 1; depth < parts.length; depth++) {
      const folder = byLower.get(parts.slice(0, depth).join("/"));
      if (folder !== undefined)
        problems.push(
          `${prefix}files[${i}].path: its folder is also the file ${prefix}files[${folder}].path (${shown(files[folder]?.path)})`,
        );
    }
  });
  return problems;
}

function lineProblems(manifest: Manifest, prefix: string): string[] {
  const lines = canonicalJson(manifest).split("\n");
  const problems: string[] = [];
  lines.forEach((line, n) => {
    const bytes = Buffer.byteLength(line) + 1;
    if (bytes <= MAX_LINE_BYTES) return;
    const what =
      n === 0
        ? `${prefix || "manifest"} header`
        : n === lines.length - 1
          ? `${prefix || "manifest"} end`
          : `${prefix}files[${n - 1}]`;
    problems.push(
      `${what}: its line of the canonical manifest is ${bytes} bytes, more than ${MAX_LINE_BYTES}`,
    );
  });
  return problems;
}

/** `rollback_from`: only on a rollback release, each a version newer than the release, no repeats. */
function rollbackProblems(manifest: Manifest, dot: string): string[] {
  const from = manifest.rollback_from;
  if (from === undefined) return [];
  if (manifest.rollback !== true)
    return [`${dot}rollback_from: only a rollback release ("rollback": true) names it`];
  return from.flatMap((v, i) => {
    const at = `${dot}rollback_from[${i}]`;
    try {
      parseVersion(v, at);
    } catch (err) {
      return [(err as Error).message];
    }
    if (from.indexOf(v) !== i) return [`${at}: ${shown(v)} is named twice`];
    if (isVersion(manifest.version) && compareVersions(v, manifest.version) <= 0)
      return [`${at}: ${shown(v)} is not newer than the release (${shown(manifest.version)})`];
    return [];
  });
}

/** Every problem with a manifest (an empty list for a valid one); `prefix` names where it sits. */
export function manifestProblems(value: unknown, prefix = ""): string[] {
  const problems = schemaProblems(Manifest, value, prefix);
  if (problems.length > 0) return problems;
  const manifest = value as Manifest;
  const dot = prefix ? `${prefix}.` : "";
  try {
    parseVersion(manifest.version, `${dot}version`);
  } catch (err) {
    problems.push((err as Error).message);
  }
  problems.push(...rollbackProblems(manifest, dot));
  problems.push(...filesProblems(manifest.files, dot));
  const paths = new Set(manifest.files.map((f) => f.path));
  for (const [hook, path] of Object.entries(manifest.hooks ?? {})) {
    const bad = pathProblem(path);
    if (bad) problems.push(`${dot}hooks.${hook}: ${bad}`);
    else if (!paths.has(path))
      problems.push(`${dot}hooks.${hook}: ${shown(path)} is not a file of this release`);
  }
  if (problems.length === 0) problems.push(...lineProblems(manifest, dot));
  return problems;
}

/** The manifest, checked; ManifestError listing every problem. */
export function validateManifest(value: unknown, prefix = ""): Manifest {
  const problems = manifestProblems(value, prefix);
  if (problems.length > 0) throw new ManifestError(problems);
  return value as Manifest;
}

/** Every problem with a channel pointer (an empty list for a valid one). */
export function pointerProblems(value: unknown, prefix = ""): string[] {
  const problems = schemaProblems(ChannelPointer, value, prefix);
  if (problems.length > 0) return problems;
  const pointer = value as ChannelPointer;
  const dot = prefix ? `${prefix}.` : "";
  try {
    parseVersion(pointer.version, `${dot}version`);
  } catch (err) {
    problems.push((err as Error).message);
  }
  const bad = pathProblem(pointer.release);
  if (bad) problems.push(`${dot}release: ${bad}`);
  return problems;
}

/** The channel pointer, checked; ManifestError listing every problem. */
export function validatePointer(value: unknown, prefix = ""): ChannelPointer {
  const problems = pointerProblems(value, prefix);
  if (problems.length > 0) throw new ManifestError(problems);
  return value as ChannelPointer;
}
