/**
 * The signed objects of docs/protocol.md as typebox schemas: a release manifest (header, file
 * entries, patches) and a channel pointer, plus the envelope around them. The schemas check shapes,
 * types, formats and ranges; validate.ts adds the rules across fields (paths, order, sizes).
 */
import Type, { type Static } from "typebox";
import { HEX64_PATTERN, hexRule, KEY_ID_PATTERN, SIGNATURE_PATTERN } from "../rules/hex.ts";
import {
  MAX_BLOB_BYTES,
  MAX_FILE_SIZE,
  MAX_FILES,
  MAX_ROLLBACK_FROM,
  MAX_SIGNATURES,
  MAX_VERSION_LENGTH,
} from "../rules/limits.ts";
import { NAME_PATTERN, NAME_RULE } from "../rules/name.ts";

const MAX_POINTER_TARGET = 2 ** 30;

/** Patterns with the words a message uses for them (typebox reports only the pattern). */
export const FORMATS = {
  hex64: { pattern: HEX64_PATTERN, wants: "64 lowercase hex characters" },
  hex40: { pattern: `^${hexRule(40)}$`, wants: "40 lowercase hex characters" },
  hex16: { pattern: KEY_ID_PATTERN, wants: "16 lowercase hex characters" },
  hex128: { pattern: SIGNATURE_PATTERN, wants: "128 lowercase hex characters" },
  name: { pattern: NAME_PATTERN, wants: `a name like ${NAME_RULE}` },
  time: {
    pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$",
    wants: "UTC time like 2026-11-23T06:00:00Z",
  },
  encoding: { pattern: "^[a-z0-9-]{1,32}$", wants: "an encoding name like fossil" },
} as const;

const text = (format: keyof typeof FORMATS) => Type.String({ pattern: FORMATS[format].pattern });
const strict = { additionalProperties: false } as const;
const size = (maximum: number, minimum = 0) => Type.Integer({ minimum, maximum });

// Paths and versions have their own rules with their own messages (validate.ts, version.ts).
const Path = Type.String({ maxLength: 1024 });
const Version = Type.String({ maxLength: MAX_VERSION_LENGTH });

export const PatchEntry = Type.Object(
  {
    encoding: text("encoding"),
    from_sha256: text("hex64"),
    sha256_of_patch: text("hex64"),
    size: size(MAX_BLOB_BYTES, 1),
  },
  { ...strict, description: "a patch from the file with SHA-256 from_sha256 to this one" },
);

export const FileEntry = Type.Object(
  {
    path: Path,
    size: size(MAX_FILE_SIZE),
    sha256: text("hex64"),
    git_sha1: Type.Optional(text("hex40")),
    blobs: Type.Object(
      { zlib: size(MAX_BLOB_BYTES, 1), patches: Type.Optional(Type.Array(PatchEntry)) },
      strict,
    ),
  },
  { ...strict, description: "one file of a release" },
);

export const Hooks = Type.Object(
  { post_update: Type.Optional(Path), rollback: Type.Optional(Path) },
  { ...strict, description: "files the device runs once after installing / after rolling back" },
);

export const Manifest = Type.Object(
  {
    format: Type.Literal(1),
    project: text("name"),
    version: Version,
    created: text("time"),
    rollback: Type.Optional(Type.Boolean()),
    rollback_from: Type.Optional(Type.Array(Version, { minItems: 1, maxItems: MAX_ROLLBACK_FROM })),
    min_loader: Type.Optional(size(1_000_000)),
    hooks: Type.Optional(Hooks),
    files: Type.Array(FileEntry, { maxItems: MAX_FILES }),
  },
  { ...strict, description: "a release: the signed object of releases/<version>.json" },
);

export const ChannelPointer = Type.Object(
  {
    channel: text("name"),
    project: text("name"),
    release: Path,
    sha256: text("hex64"),
    size: size(MAX_POINTER_TARGET, 1),
    version: Version,
    expires: Type.Optional(text("time")),
  },
  { ...strict, description: "a channel pointer: the signed object of channels/<channel>.json" },
);

export const Signature = Type.Object({ keyid: text("hex16"), sig: text("hex128") }, strict);

export const Envelope = Type.Object(
  { signatures: Type.Array(Signature, { maxItems: MAX_SIGNATURES }), signed: Type.Object({}) },
  { ...strict, description: "a signed object and its signatures" },
);

export type PatchEntry = Static<typeof PatchEntry>;
export type FileEntry = Static<typeof FileEntry>;
export type Hooks = Static<typeof Hooks>;
export type Manifest = Static<typeof Manifest>;
export type ChannelPointer = Static<typeof ChannelPointer>;
export type Signature = Static<typeof Signature>;
export interface Envelope<T = unknown> {
  signed: T;
  signatures: Signature[];
}
