/**
 * The one zlib container of mpota (docs/protocol.md): level 9 with a 2^10 window, so the device's
 * `deflate.DeflateIO` allocates a 1 KB window, read from the zlib header.
 */
import { deflateSync, inflateSync } from "node:zlib";
import { PatchError } from "./errors.ts";

export const ZLIB_OPTIONS = { level: 9, windowBits: 10, memLevel: 9 } as const;

export function zlibCompress(data: Uint8Array): Uint8Array {
  return new Uint8Array(deflateSync(data, ZLIB_OPTIONS));
}

/** Inflates a zlib stream, refusing one that is damaged or inflates past `maxBytes`. */
export function zlibInflate(data: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return new Uint8Array(inflateSync(data, { windowBits: 10, maxOutputLength: Math.max(1, maxBytes) }));
  } catch (e) {
    throw new PatchError(`not a valid zlib stream of at most ${maxBytes} bytes (${(e as Error).message})`);
  }
}
