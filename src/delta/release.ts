/**
 * The patch maker of `mpota release` (the `makePatches` seam of src/release): for each file of the new
 * release, a patch from the file at the same path in each of the earlier releases offered (the last N,
 * default 3), kept only when smaller than the file's whole zlib blob, and verified by applying it.
 */
import { createHash } from "node:crypto";
import type { MadePatch, MakePack, MakePatches, PatchContext } from "../release/index.ts";
import { makePack, type PackPatch } from "./pack.ts";
import { makePatch, PATCH_ENCODINGS } from "./patch.ts";

/** Patches for every changed file of `context.files` from the earlier releases in `context.previous`. */
export const makeReleasePatches: MakePatches = (context: PatchContext): MadePatch[] => {
  const made: MadePatch[] = [];
  const earlier = context.previous.map(
    (release) => new Map(release.envelope.signed.files.map((f) => [f.path, f])),
  );
  for (const { entry, data } of context.files) {
    const bases = new Map<string, number>(); // from sha256 -> size, each base once
    for (const files of earlier) {
      const old = files.get(entry.path);
      if (old && old.sha256 !== entry.sha256) bases.set(old.sha256, old.size);
    }
    for (const [from, size] of bases) {
      const patch = makePatch(context.store.readFile(from, size), data); // applied and checked inside
      if (patch.bytes.length >= entry.blobs.zlib) continue; // the whole blob is as cheap
      made.push({
        path: entry.path,
        patch: {
          encoding: patch.encoding,
          from_sha256: from,
          sha256_of_patch: createHash("sha256").update(patch.bytes).digest("hex"),
          size: patch.bytes.length,
        },
        data: patch.bytes,
      });
    }
  }
  return made;
};

/**
 * A patch from one release envelope to a later one (Fossil + zlib, as file patches; the envelope has a
 * line per file, so a one-file change costs about that line), or undefined when it would save nothing
 * over the envelope itself. A board holding the older envelope beside its running slot downloads this
 * instead (patches/<from>-<to>.fz, named by the envelopes' sha256s; docs/protocol.md).
 */
export function makeEnvelopePatch(from: Uint8Array, to: Uint8Array): Uint8Array | undefined {
  const patch = makePatch(from, to, { encodings: ["fossil"] });
  return patch.bytes.length < to.length ? patch.bytes : undefined;
}

/**
 * The update pack maker of `mpota release` (the `makePack` seam of src/release): makePack over the
 * release's made patches, each named by the file it makes.
 */
export const makeReleasePack: MakePack = ({ from, to, envelope, patches, readBlob }) => {
  const made = new Map(to.map((f) => [f.path, f.sha256]));
  const packPatches: PackPatch[] = [];
  for (const { path, patch, data } of patches) {
    const encoding = PATCH_ENCODINGS.find((e) => e === patch.encoding);
    const toSha256 = made.get(path);
    if (encoding && toSha256) packPatches.push({ fromSha256: patch.from_sha256, toSha256, encoding, data });
  }
  return makePack({ from, to, envelope, patches: packPatches, readBlob });
};
