/**
 * Signed releases made in memory for tests and benchmarks: the wire format of docs/protocol.md,
 * signed with a throwaway Ed25519 key.
 */
import { deflateSync } from "node:zlib";
import { createDelta } from "fossil-delta";
import {
  envelopeBytes,
  generateKeyPair,
  type Manifest,
  type SigningKey,
  sha256Hex,
  signEnvelope,
} from "../src/manifest/index.ts";
import { type AdminClient, publishRelease, type ReleaseFiles } from "../src/server/admin-client.ts";

export type TestKey = SigningKey;

/** A throwaway signing key. */
export const testKey = generateKeyPair;

export interface TestRelease {
  envelope: { signed: Manifest; signatures: Array<{ keyid: string; sig: string }> };
  /** The envelope as wire bytes. */
  bytes: Buffer;
  blobs: Map<string, Buffer>;
  patches: Map<string, Buffer>;
  /** The release as publishRelease reads it. */
  files: ReleaseFiles;
}

/** A signed release of `files`; with `from`, each changed file also gets a fossil patch from it. */
export function testRelease(
  project: string,
  version: string,
  files: Record<string, string | Buffer>,
  key: TestKey,
  options: { from?: Record<string, string | Buffer>; rollback?: boolean } = {},
): TestRelease {
  const blobs = new Map<string, Buffer>();
  const patches = new Map<string, Buffer>();
  const entries = Object.keys(files)
    .sort()
    .map((path) => {
      const data = Buffer.from(files[path]!);
      const sha256 = sha256Hex(data);
      const z = deflateSync(data, { level: 9, windowBits: 10, memLevel: 9 });
      blobs.set(`${sha256}.z`, z);
      const entry: Manifest["files"][number] = { path, size: data.length, sha256, blobs: { zlib: z.length } };
      const old = options.from?.[path];
      if (old !== undefined && sha256Hex(Buffer.from(old)) !== sha256) {
        const oldSha = sha256Hex(Buffer.from(old));
        const patch = deflateSync(Buffer.from(createDelta(Buffer.from(old), data)), { windowBits: 10 });
        patches.set(`${oldSha}-${sha256}.fz`, patch);
        entry.blobs.patches = [
          { encoding: "fossil", from_sha256: oldSha, sha256_of_patch: sha256Hex(patch), size: patch.length },
        ];
      }
      return entry;
    });
  const signed: Manifest = {
    format: 1,
    project,
    version,
    created: "2026-11-23T06:00:00Z",
    ...(options.rollback ? { rollback: true } : {}),
    files: entries,
  };
  const envelope = signEnvelope(signed, key);
  const bytes = envelopeBytes(envelope);
  const read = (files: Map<string, Buffer>, name: string) => {
    const data = files.get(name);
    if (!data) throw new Error(`test release ${version} has no ${name}`);
    return Promise.resolve(data);
  };
  return {
    envelope,
    bytes,
    blobs,
    patches,
    files: { envelope: bytes, blob: (name) => read(blobs, name), patch: (name) => read(patches, name) },
  };
}

/** Creates `project` on the server, trusting `key`, with `files` published as release `version` on channel stable. */
export async function testProject(
  client: AdminClient,
  project: string,
  key: TestKey,
  version: string,
  files: Record<string, string | Buffer>,
): Promise<void> {
  await client.request("POST", "/projects", { name: project });
  await client.request("POST", `/projects/${project}/keys`, { publicKey: key.publicKeyHex });
  await publishRelease(client, testRelease(project, version, files, key).files, {
    project,
    channel: "stable",
  });
}
