/**
 * Patches between two versions of a file, as published (docs/protocol.md, "Patches"): a delta in the
 * zlib container, encoded as a Fossil delta or as bsdiff-seq. `makePatch` tries the stock Fossil
 * encoder, this package's finer Fossil matcher at a few settings and bsdiff-seq, keeps the smallest
 * compressed patch, and proves it by applying it.
 */
import { createHash } from "node:crypto";
import { applyDelta, createDelta } from "fossil-delta";
import { compressBlob, inflateBlob } from "../store/index.ts";
import { applyBsdiff, encodeBsdiff } from "./bsdiff.ts";
import { PatchError } from "./errors.ts";
import { encodeFossil } from "./fossil.ts";

export type PatchEncoding = "fossil" | "bsdiff-seq";
export const PATCH_ENCODINGS: readonly PatchEncoding[] = ["fossil", "bsdiff-seq"];
/** Larger files get Fossil deltas only: the suffix array bsdiff needs grows slow beyond this. */
export const MAX_BSDIFF_BYTES = 512 * 1024;

export interface Patch {
  encoding: PatchEncoding;
  /** The compressed patch: what is stored and downloaded. */
  bytes: Uint8Array;
  /** Which encoder made it: "stock" (npm fossil-delta), "mpota-<minMatch>" (the finer matcher), "bsdiff". */
  encoder: string;
}

/** Shortest matches the finer matcher tries: short ones win on bytecode, long ones on text. */
const MIN_MATCHES = [6, 12, 24, 48] as const;

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

function candidates(from: Uint8Array, to: Uint8Array, encodings: readonly PatchEncoding[]): Patch[] {
  const out: Patch[] = [];
  if (encodings.includes("fossil")) {
    out.push({ encoding: "fossil", bytes: compressBlob(createDelta(from, to)), encoder: "stock" });
    for (const minMatch of MIN_MATCHES)
      out.push({
        encoding: "fossil",
        bytes: compressBlob(encodeFossil(from, to, { minMatch })),
        encoder: `mpota-${minMatch}`,
      });
  }
  if (encodings.includes("bsdiff-seq") && from.length <= MAX_BSDIFF_BYTES && to.length <= MAX_BSDIFF_BYTES)
    out.push({ encoding: "bsdiff-seq", bytes: compressBlob(encodeBsdiff(from, to)), encoder: "bsdiff" });
  return out;
}

/** The smallest verified patch that turns `from` into `to`, in one of `encodings` (default: all). */
export function makePatch(
  from: Uint8Array,
  to: Uint8Array,
  options: { encodings?: readonly PatchEncoding[] } = {},
): Patch {
  const list = candidates(from, to, options.encodings ?? PATCH_ENCODINGS);
  const want = { size: to.length, sha256: sha256(to) };
  list.sort((a, b) => a.bytes.length - b.bytes.length);
  for (const patch of list) {
    try {
      applyPatch(from, patch.bytes, patch.encoding, want);
      return patch;
    } catch {
      // an encoder that got it wrong: the next smallest one is checked the same way
    }
  }
  throw new PatchError(`no encoder made a patch that reproduces the file (sha256 ${want.sha256})`);
}

/**
 * Applies a compressed patch to `from`; the result must have `want.size` bytes and SHA-256
 * `want.sha256`. Throws PatchError for a damaged patch, a patch made for another file, or a wrong result.
 */
export function applyPatch(
  from: Uint8Array,
  patch: Uint8Array,
  encoding: string,
  want: { size: number; sha256: string },
): Uint8Array {
  const decode =
    encoding === "fossil"
      ? (delta: Uint8Array) => applyDelta(from, delta, { verifyChecksum: true })
      : encoding === "bsdiff-seq"
        ? (delta: Uint8Array) => applyBsdiff(from, delta)
        : undefined;
  if (!decode) throw new PatchError(`unknown patch encoding "${encoding}"`);
  let out: Uint8Array;
  try {
    // a delta is at most the file plus its commands: twice the size bounds a sound one
    const delta = new Uint8Array(inflateBlob(patch, 2 * want.size + 1024));
    out = decode(delta);
  } catch (e) {
    throw new PatchError(`the patch does not apply (${(e as Error).message})`);
  }
  if (out.length !== want.size || sha256(out) !== want.sha256)
    throw new PatchError(
      `the patched file does not match (${out.length} bytes, sha256 ${sha256(out)}; want ${want.size} bytes, ${want.sha256})`,
    );
  return out;
}

/** Where a patch is stored on a static site or server, relative to the project folder. */
export function patchPath(fromSha256: string, toSha256: string): string {
  return `patches/${fromSha256}-${toSha256}.fz`;
}
