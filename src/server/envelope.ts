/**
 * What the server needs from a release envelope (docs/protocol.md): check an uploaded envelope
 * against the project and its public keys, and store it in the canonical wire layout.
 * Canonical JSON and Ed25519 verification follow the protocol; src/manifest is the shared home of
 * this code, and this module keeps the server's view of it in one place.
 */
import { createHash, createPublicKey, verify } from "node:crypto";
import { HttpError } from "./errors.ts";

export interface FileEntry {
  path: string;
  size: number;
  sha256: string;
  blobs: {
    zlib: number;
    patches?: Array<{ encoding: string; from_sha256: string; sha256_of_patch: string; size: number }>;
  };
}

export interface Manifest {
  format: 1;
  project: string;
  version: string;
  created: string;
  rollback?: boolean;
  files: FileEntry[];
}

export interface CheckedEnvelope {
  manifest: Manifest;
  /** The envelope in the exact wire layout, as stored and served. */
  bytes: Buffer;
  sha256: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-((0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Key id: the first 16 hex chars of SHA-256 of the raw 32-byte public key. */
export function keyIdOf(publicKeyHex: string): string {
  return sha256Hex(Buffer.from(publicKeyHex, "hex")).slice(0, 16);
}

function canonical(value: unknown, filesOnLines = false): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value))
      throw new HttpError(400, `envelope holds a non-integer number ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v)).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .map((key) => {
        const item = (value as Record<string, unknown>)[key];
        if (filesOnLines && key === "files" && Array.isArray(item)) {
          const lines = item.map((f) => `${canonical(f)},\n`).join("");
          return `"files":[\n${lines.replace(/,\n$/, "\n")}]`;
        }
        return `${JSON.stringify(key)}:${canonical(item)}`;
      });
    return `{${entries.join(",")}}`;
  }
  throw new HttpError(400, `envelope holds a value JSON cannot carry (${typeof value})`);
}

/** The wire bytes of an envelope: signatures on line 1, the canonical signed object between newlines. */
export function envelopeBytes(signed: unknown, signatures: unknown[], manifest = true): Buffer {
  return Buffer.from(`{"signatures":${canonical(signatures)},"signed":\n${canonical(signed, manifest)}\n}\n`);
}

function problemsOf(manifest: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (manifest.format !== 1) problems.push("signed.format must be 1");
  if (typeof manifest.project !== "string") problems.push("signed.project must be a string");
  if (typeof manifest.version !== "string" || !SEMVER.test(manifest.version))
    problems.push("signed.version must be a semver version");
  if (typeof manifest.created !== "string") problems.push("signed.created must be a string");
  if (!Array.isArray(manifest.files)) return [...problems, "signed.files must be an array"];
  const seen = new Set<string>();
  manifest.files.forEach((file: Record<string, unknown>, i) => {
    const at = `signed.files[${i}]`;
    const path = file?.path;
    if (
      typeof path !== "string" ||
      path === "" ||
      path.startsWith("/") ||
      /(^|\/)\.\.?(\/|$)|\/\/|\\/.test(path) ||
      [...path].some((c) => c.charCodeAt(0) < 0x20)
    )
      problems.push(`${at}.path is not a safe relative path`);
    else if (seen.has(path.toLowerCase())) problems.push(`${at}.path ${path} appears twice`);
    else seen.add(path.toLowerCase());
    if (!Number.isSafeInteger(file?.size) || (file.size as number) < 0)
      problems.push(`${at}.size must be a size`);
    if (typeof file?.sha256 !== "string" || !HEX64.test(file.sha256))
      problems.push(`${at}.sha256 must be hex`);
    const blobs = file?.blobs as FileEntry["blobs"] | undefined;
    if (!blobs || !Number.isSafeInteger(blobs.zlib) || blobs.zlib < 0)
      problems.push(`${at}.blobs.zlib must be a size`);
    for (const [j, patch] of (blobs?.patches ?? []).entries()) {
      if (!HEX64.test(String(patch?.from_sha256)) || !HEX64.test(String(patch?.sha256_of_patch)))
        problems.push(`${at}.blobs.patches[${j}] needs hex from_sha256 and sha256_of_patch`);
      if (!Number.isSafeInteger(patch?.size)) problems.push(`${at}.blobs.patches[${j}].size must be a size`);
    }
  });
  return problems;
}

function signatureValid(publicKeyHex: string, message: Buffer, sigHex: string): boolean {
  if (!/^[0-9a-f]{128}$/.test(sigHex)) return false;
  const key = createPublicKey({
    key: Buffer.concat([SPKI_ED25519, Buffer.from(publicKeyHex, "hex")]),
    format: "der",
    type: "spki",
  });
  return verify(null, message, key, Buffer.from(sigHex, "hex"));
}

/**
 * Checks an uploaded envelope: a valid manifest of `project`, signed by at least one of the
 * project's keys (keyid → public key hex). Throws a 400 HttpError naming what is wrong.
 */
export function checkEnvelope(
  envelope: { signed: unknown; signatures: unknown },
  project: string,
  keys: Map<string, string>,
): CheckedEnvelope {
  const signed = envelope.signed as Record<string, unknown>;
  if (!signed || typeof signed !== "object" || Array.isArray(signed))
    throw new HttpError(400, "envelope.signed must be an object");
  const problems = problemsOf(signed);
  if (problems.length > 0) throw new HttpError(400, `invalid manifest: ${problems.slice(0, 5).join("; ")}`);
  if (signed.project !== project)
    throw new HttpError(400, `manifest is for project "${signed.project}", not "${project}"`);
  const signatures = envelope.signatures as Array<{ keyid: string; sig: string }>;
  if (
    !Array.isArray(signatures) ||
    signatures.some((s) => typeof s?.keyid !== "string" || typeof s?.sig !== "string")
  )
    throw new HttpError(400, "envelope.signatures must be a list of {keyid, sig}");
  const message = Buffer.from(canonical(signed, true));
  const valid = signatures.some((s) => {
    const publicKey = keys.get(s.keyid);
    return publicKey !== undefined && signatureValid(publicKey, message, s.sig);
  });
  if (!valid) {
    const ids = signatures.map((s) => s.keyid).join(", ") || "none";
    throw new HttpError(
      400,
      `envelope has no valid signature by a key of project "${project}" (keyids: ${ids})`,
    );
  }
  const bytes = envelopeBytes(signed, signatures);
  return { manifest: signed as unknown as Manifest, bytes, sha256: sha256Hex(bytes) };
}
