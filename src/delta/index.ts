/**
 * Delta updates: Fossil deltas in a zlib container (2^10 window), made smaller than the stock encoder
 * where a finer matcher pays, and always verified by applying them.
 */

export { applyBsdiff, encodeBsdiff } from "./bsdiff.ts";
export { applyCopyHex, encodeCopyHex } from "./copy-hex.ts";
export { PatchError } from "./errors.ts";
export { encodeFossil, fossilChecksum } from "./fossil.ts";
export {
  ANSWER_FORMATS,
  type AnswerFormat,
  answerPack,
  answerPointer,
  checkAnswer,
  type DecodedRecord,
  decodePack,
  decodePackTo,
  encodePack,
  MAX_PACK_RECORDS,
  makePack,
  PACK_KEY_BYTES,
  PACK_MAGIC,
  PATCH_KINDS,
  type PackKind,
  type PackPatch,
  type PackRecord,
} from "./pack.ts";
export {
  applyPatch,
  MAX_BSDIFF_BYTES,
  makePatch,
  PATCH_ENCODINGS,
  type Patch,
  type PatchEncoding,
  patchPath,
} from "./patch.ts";
export { makeEnvelopePatch, makeReleasePack, makeReleasePatches } from "./release.ts";
