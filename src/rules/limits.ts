/**
 * Limits of the release format that the host and the device both enforce (device/mpota/manifest.py:
 * `_MAX_FILE`, `MAX_LINE`, `_zlib_bound`; version.py: `MAX_LENGTH`). rules.test.ts reads the
 * device's values and compares them with these.
 */

/** Largest file of a release, in bytes. */
export const MAX_FILE_SIZE = 16 * 1024 * 1024;
export const MAX_FILES = 10_000;
/** Longest release path, in bytes of UTF-8. */
export const MAX_PATH_BYTES = 255;
/** Longest line of a canonical manifest, its line break included. */
export const MAX_LINE_BYTES = 4096;
/** Most releases a rollback release may name in `rollback_from`. */
export const MAX_ROLLBACK_FROM = 16;
/**
 * Most signatures an envelope carries. A board tries at most this many signatures by keys it trusts,
 * in its one pass (envelope.py `_MAX_CANDIDATES`), so with no more in all, every board that trusts one
 * signer tries that signature; and line 1 of the wire layout (the signatures) stays far below
 * MAX_LINE_BYTES, which a board also refuses to pass.
 */
export const MAX_SIGNATURES = 4;
/**
 * Largest update pack a check answer carries (channels/<channel>.pack, docs/protocol.md "Check
 * answers"; device/mpota/answer.py `MAX_PACK`): a board that cannot use it (several releases behind,
 * or new) wastes no more, a cut answer loses no more, and a larger pack is worth its own request.
 */
export const MAX_ATTACHED_PACK = 8192;
/** Longest version, in characters (the loader sizes its read of the state record, three versions, by it). */
export const MAX_VERSION_LENGTH = 256;

/**
 * Largest zlib stream accepted for a file of `size` bytes: incompressible data costs 5 bytes of
 * stored-block header per few KB with a 2^10 window (1249 bytes on 1 MB of random data at memLevel 9),
 * so twice that plus the framing. The device (manifest.py `_zlib_bound`) uses the same bound.
 */
export function zlibBound(size: number): number {
  return size + Math.floor(size / 256) + 64;
}

/** Largest stored blob or patch: the zlib stream of the largest file. */
export const MAX_BLOB_BYTES = zlibBound(MAX_FILE_SIZE);
