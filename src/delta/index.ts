/**
 * Delta updates: Fossil deltas in a zlib container (2^10 window), made smaller than the stock encoder
 * where a finer matcher pays, and always verified by applying them.
 */
export { PatchError } from "./errors.ts";
export { encodeFossil, fossilChecksum } from "./fossil.ts";
export { applyPatch, makePatch, type Patch, type PatchEncoding, patchPath } from "./patch.ts";
export { makeReleasePatches } from "./release.ts";
