/**
 * One table of release envelopes for the upload rules (checkEnvelope, as `mpota serve` applies them
 * to a publisher's upload) and the board's rules (device/mpota/envelope.py `verify`): release-upload.test.ts
 * runs each through both, with the project's key as the one key the board trusts, and expects exactly
 * these verdicts. Every envelope a board refuses is refused at upload.
 */
import {
  type Envelope,
  type Manifest,
  type Signature,
  type SigningKey,
  sha256Hex,
  signEnvelope,
} from "../manifest/index.ts";

export interface EnvelopeCase {
  name: string;
  envelope: Envelope<unknown>;
  /** What the upload says: "ok", or the 400's message. */
  upload: string;
  /** What envelope.verify says on the board: "ok", or "<code>: <message>". */
  board: string;
}

export const CASES_PROJECT = "p";

const entry = (path: string) => ({ path, size: 1, sha256: sha256Hex(path), blobs: { zlib: 9 } });

const manifest = (paths: string[], extra: Record<string, unknown> = {}) => ({
  format: 1,
  project: CASES_PROJECT,
  version: "1.0.0",
  created: "2026-11-23T06:00:00Z",
  files: paths.map(entry),
  ...extra,
});

/** The cases for a project whose one key is `key`; `stranger` is a key neither side knows. */
export function envelopeCases(key: SigningKey, stranger: SigningKey): EnvelopeCase[] {
  const good = signEnvelope(manifest(["lib/util.py", "main.py"]), key);
  const [real] = good.signatures as [Signature];
  // A signature under the project's key id that the key did not make (an attacker can write these).
  const forged = (n: number): Signature => ({ keyid: key.keyId, sig: n.toString(16).padStart(128, "0") });
  // A signature by a key the board does not know.
  const unknown = (n: number): Signature => ({
    keyid: n.toString(16).padStart(16, "f"),
    sig: n.toString(16).padStart(128, "a"),
  });
  const signed = (paths: string[], extra: Record<string, unknown> = {}) =>
    signEnvelope(manifest(paths, extra), key);
  const withSignatures = (signatures: Signature[]) => ({ signed: good.signed, signatures });
  const invalid = (problem: string) => `invalid manifest: ${problem}`;
  const longLine = {
    ...entry("main.py"),
    blobs: {
      zlib: 9,
      patches: Array.from({ length: 24 }, (_, i) => ({
        encoding: "fossil",
        from_sha256: sha256Hex(String(i)),
        sha256_of_patch: sha256Hex(`p${i}`),
        size: 9,
      })),
    },
  };
  const tampered = signed(["main.py"]);

  return [
    { name: "signed by the project's key", envelope: good, upload: "ok", board: "ok" },
    {
      name: "signed by the project's key and another",
      envelope: signEnvelope(good.signed, [stranger, key]),
      upload: "ok",
      board: "ok",
    },
    {
      name: "three signatures by unknown keys first, then the project's (four in all)",
      envelope: withSignatures([unknown(1), unknown(2), unknown(3), real]),
      upload: "ok",
      board: "ok",
    },
    {
      name: "three forged signatures under the project's key id first, then the real one",
      envelope: withSignatures([forged(1), forged(2), forged(3), real]),
      upload: "ok",
      board: "ok",
    },
    {
      // A board tries four signatures by keys it trusts, in one pass: the fifth is never looked at.
      name: "four forged signatures under the project's key id first, then the real one",
      envelope: withSignatures([forged(1), forged(2), forged(3), forged(4), real]),
      upload: "invalid envelope: envelope.signatures: has more than 4 entries",
      board: "signature: the release: the signature does not match (tampered, or the wrong key)",
    },
    {
      name: "thirty signatures by unknown keys first, then the project's: line 1 is over 4096 bytes",
      envelope: withSignatures([...Array.from({ length: 30 }, (_, i) => unknown(i + 1)), real]),
      upload: "invalid envelope: envelope.signatures: has more than 4 entries",
      board: "manifest: not a signed envelope (docs/protocol.md layout)",
    },
    {
      name: "unsigned",
      envelope: withSignatures([]),
      upload: `no valid signature by a key of project "p": the envelope is not signed`,
      board: "signature: the release is not signed",
    },
    {
      name: "signed by another key only",
      envelope: signEnvelope(good.signed, stranger),
      upload: `no valid signature by a key of project "p": the envelope is signed by key ${stranger.keyId}, which is not a trusted key`,
      board: `signature: the release is signed by key ${stranger.keyId}, which this board does not trust`,
    },
    {
      name: "changed after signing",
      envelope: { ...tampered, signed: { ...tampered.signed, version: "1.0.1" } },
      upload: `no valid signature by a key of project "p": the signature by key ${key.keyId} does not match (the envelope was changed, or signed by another key)`,
      board: "signature: the release: the signature does not match (tampered, or the wrong key)",
    },
    {
      name: "another project's release",
      envelope: signEnvelope({ ...good.signed, project: "q" }, key),
      upload: 'manifest is for project "q", not "p"',
      board: "project: the release is for project q, this board runs p",
    },
    {
      name: "two paths that differ only in case",
      envelope: signed(["Main.py", "main.py"]),
      upload: invalid('signed.files[1].path: differs only in case from signed.files[0].path ("Main.py")'),
      board: "manifest: main.py: another path differs from it only in case",
    },
    {
      name: "a file that is also a folder",
      envelope: signed(["lib", "lib/x.py"]),
      upload: invalid('signed.files[1].path: its folder is also the file signed.files[0].path ("lib")'),
      board: "manifest: lib/x.py: its folder lib is also a file",
    },
    {
      name: "a file that is also a folder in another case",
      envelope: signed(["LIB", "lib/x.py"]),
      upload: invalid('signed.files[1].path: its folder is also the file signed.files[0].path ("LIB")'),
      board: "manifest: lib/x.py: its folder lib is also a file",
    },
    {
      name: "a folder that is also a file named after it in another case",
      envelope: signed(["LIB/x.py", "lib"]),
      upload: invalid('signed.files[0].path: its folder is also the file signed.files[1].path ("lib")'),
      board: "manifest: lib: it is also the name of a folder",
    },
    {
      name: "a folder deeper down that is also a file in another case",
      envelope: signed(["a/B", "a/b/c"]),
      upload: invalid('signed.files[1].path: its folder is also the file signed.files[0].path ("a/B")'),
      board: "manifest: a/b/c: its folder a/b is also a file",
    },
    {
      name: "the same path twice",
      envelope: signed(["main.py", "main.py"]),
      upload: invalid('signed.files[1].path: duplicates signed.files[0].path ("main.py")'),
      board: "manifest: main.py: paths must be unique and sorted",
    },
    {
      name: "paths out of order",
      envelope: signed(["main.py", "boot.py"]),
      upload: invalid('signed.files[1].path: not sorted ("boot.py" must come before "main.py")'),
      board: "manifest: boot.py: paths must be unique and sorted",
    },
    {
      name: "a path out of the slot",
      envelope: signed(["../boot.py"]),
      upload: invalid('signed.files[0].path: contains ".."'),
      board: "manifest: bad file path ../boot.py",
    },
    {
      name: "a file entry whose line is over 4096 bytes",
      envelope: signEnvelope({ ...manifest([]), files: [longLine] } as Manifest, key),
      upload: invalid("signed.files[0]: its line of the canonical manifest is 4863 bytes, more than 4096"),
      board: "manifest: a manifest line is longer than 4096 bytes or unterminated",
    },
  ];
}
