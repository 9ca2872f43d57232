/**
 * Durable, all-or-nothing file writes: write a temporary file beside the target, fsync it, rename
 * it over the target, fsync the folder. A reader (or a crash) sees the old file or the new one.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** Makes a folder's entries (a rename, a new file) durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates a folder and its missing parents, as `mkdirSync(dir, { recursive: true })` does, but
 * gives up with ENOENT where a parent exists and still refuses the child: Node's recursive mkdir
 * loops for ever there (e.g. under /proc).
 */
export function makeFolder(dir: string, parentMade = false): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if (statSync(dir).isDirectory()) return;
      // A file where a folder should be: say so, as mkdir below it would.
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), {
        code: "ENOTDIR",
        syscall: "mkdir",
        path: dir,
      });
    }
    const parent = dirname(dir);
    if (code !== "ENOENT" || parentMade || parent === dir) throw err;
    makeFolder(parent);
    makeFolder(dir, true);
  }
}

/** Temporary files start with this (hidden from `ls`, never a valid blob or version name). */
const TMP_PREFIX = ".tmp-";

export interface AtomicWriteOptions {
  /** File mode of a new file (default 0o644). */
  mode?: number;
  /**
   * Sync the folder after the rename (default true). Writers of many files pass false and call
   * fsyncDir once before the write that makes them reachable (a manifest, a pointer).
   */
  syncDir?: boolean;
  /** Never replace an existing file: fail with EEXIST instead (by link, atomic against other writers). */
  exclusive?: boolean;
}

/** Writes `data` to `file` atomically and durably; creates the folder when missing. */
export function writeFileAtomic(
  file: string,
  data: Uint8Array | string,
  options: AtomicWriteOptions = {},
): void {
  const { mode = 0o644, syncDir = true, exclusive = false } = options;
  const dir = dirname(file);
  makeFolder(dir);
  const tmp = join(dir, `${TMP_PREFIX}${basename(file)}-${randomBytes(6).toString("hex")}`);
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  try {
    const fd = openSync(tmp, "wx", mode);
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (exclusive) {
      linkSync(tmp, file);
      rmSync(tmp);
    } else renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (syncDir) fsyncDir(dir);
}
