/**
 * The blob format of docs/protocol.md: a zlib stream with a 2^10 window, so a device inflates it
 * with `deflate.DeflateIO(f, deflate.ZLIB)` and about 1 KB of window.
 */
import { deflateSync, inflateSync } from "node:zlib";

export const ZLIB_OPTIONS = { level: 9, windowBits: 10, memLevel: 9 } as const;

/** The zlib stream (2^10 window) of `data`, as stored in blobs/<sha256>.z and patches/*.fz. */
export function compressBlob(data: Uint8Array): Buffer {
  return deflateSync(data, ZLIB_OPTIONS);
}

/** The bytes of a zlib blob; refuses to produce more than `maxSize` bytes (a compression bomb). */
export function inflateBlob(compressed: Uint8Array, maxSize: number): Buffer {
  return inflateSync(compressed, { windowBits: 10, maxOutputLength: Math.max(1, maxSize) });
}
