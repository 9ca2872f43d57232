/** The content-addressed release store on disk, its blob format and atomic file writes. */
export { type AtomicWriteOptions, fsyncDir, makeFolder, writeFileAtomic } from "./atomic.ts";
export { compressBlob, inflateBlob, ZLIB_OPTIONS } from "./blob.ts";
export { StoreError } from "./errors.ts";
export { openStore, ReleaseStore, type StoredBlob, type StoredRelease } from "./store.ts";
