/**
 * The envelope wire layout (docs/protocol.md): `{"signatures":<sigs>,"signed":\n<S>\n}\n`, with S the
 * canonical bytes of the signed object. Reading accepts any JSON envelope and checks its contents.
 */
import { canonicalJson } from "./canonical.ts";
import { ManifestError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import { type ChannelPointer, Envelope, type Manifest } from "./schema.ts";
import { schemaProblems, validateManifest, validatePointer } from "./validate.ts";

/** The exact bytes of an envelope as stored and served. */
export function envelopeBytes(envelope: Envelope): Buffer {
  return Buffer.from(
    `{"signatures":${canonicalJson(envelope.signatures)},"signed":\n${canonicalJson(envelope.signed)}\n}\n`,
    "utf8",
  );
}

/** An envelope from JSON (bytes or text, any layout), its shape checked; the signed object is not. */
export function parseEnvelope(
  data: Uint8Array | string,
  what = "envelope",
): Envelope<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(typeof data === "string" ? data : Buffer.from(data).toString("utf8"));
  } catch (err) {
    throw new ManifestError(`${what}: not valid JSON (${(err as Error).message})`);
  }
  const problems = schemaProblems(Envelope, value);
  if (problems.length > 0) throw new ManifestError(problems.map((p) => `${what}: ${p}`));
  return value as Envelope<Record<string, unknown>>;
}

/** A release envelope with its manifest validated (messages name `signed.files[3].path` etc.). */
export function parseReleaseEnvelope(data: Uint8Array | string): Envelope<Manifest> {
  const envelope = parseEnvelope(data, "release envelope");
  return { signed: validateManifest(envelope.signed, "signed"), signatures: envelope.signatures };
}

/** A channel pointer envelope with its pointer validated. */
export function parsePointerEnvelope(data: Uint8Array | string): Envelope<ChannelPointer> {
  const envelope = parseEnvelope(data, "channel pointer");
  return { signed: validatePointer(envelope.signed, "signed"), signatures: envelope.signatures };
}

/** The signed object of a channel pointer to the release envelope `envelope` (its exact bytes). */
export function channelPointer(options: {
  channel: string;
  project: string;
  version: string;
  envelope: Uint8Array;
  expires?: string;
}): ChannelPointer {
  return validatePointer({
    channel: options.channel,
    project: options.project,
    release: `releases/${options.version}.json`,
    sha256: sha256Hex(options.envelope),
    size: options.envelope.length,
    version: options.version,
    ...(options.expires === undefined ? {} : { expires: options.expires }),
  });
}
