/**
 * The release format shared by every part of mpota (docs/protocol.md): manifest and channel pointer
 * schemas, strict validation, canonical JSON, the envelope layout, Ed25519 keys and signatures,
 * semver ordering.
 */

// The rules the format holds data to (src/rules), as the format's users have always imported them.
export {
  comparePaths,
  compareVersions,
  isVersion,
  MAX_FILE_SIZE,
  MAX_FILES,
  MAX_LINE_BYTES,
  MAX_PATH_BYTES,
  MAX_SIGNATURES,
  parseVersion,
  pathProblem,
  type Version,
  zlibBound,
} from "../rules/index.ts";
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
export { ChannelPointer, Envelope, FileEntry, Hooks, Manifest, PatchEntry, Signature } from "./schema.ts";
export { signEnvelope, verifyEnvelope } from "./sign.ts";
export { isoSeconds } from "./time.ts";
export {
  manifestProblems,
  pointerProblems,
  schemaProblems,
  validateManifest,
  validatePointer,
} from "./validate.ts";
