/**
 * The release format shared by every part of mpota (docs/protocol.md): manifest and channel pointer
 * schemas, strict validation, canonical JSON, the envelope layout, Ed25519 keys and signatures,
 * semver ordering.
 */
export { canonicalBytes, canonicalJson } from "./canonical.ts";
export {
  channelPointer,
  envelopeBytes,
  parseEnvelope,
  parsePointerEnvelope,
  parseReleaseEnvelope,
} from "./envelope.ts";
export { ManifestError, SignatureError } from "./errors.ts";
export { gitBlobSha1, sha256Hex } from "./hash.ts";
export {
  generateKeyPair,
  keyFileWarning,
  keyIdOf,
  loadPrivateKey,
  parsePrivateKey,
  privateKeyPem,
  publicKeyFromHex,
  publicKeyHexOf,
  type SigningKey,
} from "./keys.ts";
export {
  ChannelPointer,
  Envelope,
  FileEntry,
  Hooks,
  MAX_FILE_SIZE,
  MAX_FILES,
  MAX_LINE_BYTES,
  MAX_PATH_BYTES,
  MAX_SIGNATURES,
  Manifest,
  PatchEntry,
  Signature,
  zlibBound,
} from "./schema.ts";
export { signEnvelope, verifyEnvelope } from "./sign.ts";
export { isoSeconds } from "./time.ts";
export {
  comparePaths,
  manifestProblems,
  pathProblem,
  pointerProblems,
  schemaProblems,
  validateManifest,
  validatePointer,
} from "./validate.ts";
export { compareVersions, isVersion, parseVersion, type Version } from "./version.ts";
