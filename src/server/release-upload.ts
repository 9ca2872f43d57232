/**
 * The check of a release upload: an uploaded envelope is checked against the project and its public
 * keys by the board's rules (release-upload-cases.ts), then stored and served in the exact wire
 * layout of docs/protocol.md.
 */
import {
  Envelope,
  envelopeBytes,
  type Manifest,
  ManifestError,
  SignatureError,
  schemaProblems,
  sha256Hex,
  validateManifest,
  verifyEnvelope,
} from "../manifest/index.ts";
import { DataError } from "./errors.ts";

export interface CheckedEnvelope {
  manifest: Manifest;
  /** The envelope in the exact wire layout, as stored and served. */
  bytes: Buffer;
  sha256: string;
}

/**
 * Checks an uploaded envelope (any JSON layout): a valid manifest of `project`, signed by at least
 * one of the project's public keys (hex). Throws an invalid DataError naming what is wrong.
 */
export function checkEnvelope(body: unknown, project: string, publicKeys: string[]): CheckedEnvelope {
  const shape = schemaProblems(Envelope, body, "envelope");
  if (shape.length > 0) throw new DataError("invalid", `invalid envelope: ${shape.slice(0, 5).join("; ")}`);
  const envelope = body as Envelope<Record<string, unknown>>;
  let manifest: Manifest;
  try {
    manifest = validateManifest(envelope.signed, "signed");
  } catch (err) {
    if (err instanceof ManifestError) throw new DataError("invalid", `invalid manifest: ${err.message}`);
    throw err;
  }
  if (manifest.project !== project)
    throw new DataError("invalid", `manifest is for project "${manifest.project}", not "${project}"`);
  try {
    verifyEnvelope({ signed: manifest, signatures: envelope.signatures }, publicKeys);
  } catch (err) {
    if (err instanceof SignatureError)
      throw new DataError("invalid", `no valid signature by a key of project "${project}": ${err.message}`);
    throw err;
  }
  const bytes = envelopeBytes({ signed: manifest, signatures: envelope.signatures });
  return { manifest, bytes, sha256: sha256Hex(bytes) };
}
