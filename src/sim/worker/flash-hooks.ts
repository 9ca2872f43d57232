/**
 * Wraps the Emscripten FS calls that MicroPython's VfsPosix reaches, so that every mutating operation
 * is counted, journaled to the host (which owns the durable flash), and can be turned into a power
 * cut or an I/O error. The syscall layer looks these functions up on the FS object at each call, so the
 * wrappers see everything the device does.
 */
import { posix } from "node:path";
import { WASI } from "../errno.ts";
import type { BootJob, FlashCounters, JournalOp } from "./protocol.ts";

/** Thrown at the cut point: it unwinds the interpreter, and no `except` in Python can catch it. */
export class PowerCut extends Error {
  constructor(readonly op: number) {
    super(`power cut at flash operation ${op}`);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: Emscripten's FS object is untyped
type EmFS = any;

const O_ACCMODE = 3;
const O_TRUNC = 512;
const O_APPEND = 1024;
const BLOCK = 4096;
/** Paths that belong to the firmware or the OS, not to the flash. */
const NOT_FLASH = ["/.sim", "/dev", "/proc"];

function isFlashPath(path: string): boolean {
  return !NOT_FLASH.some((p) => path === p || path.startsWith(`${p}/`));
}

function blocks(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

export function installFlashHooks(FS: EmFS, job: BootJob, journal: (op: JournalOp) => void): FlashCounters {
  const counters: FlashCounters = { ops: 0, bytesRead: 0, bytesWritten: 0 };
  const streamIds = new WeakMap<object, number>();
  let nextId = 1;
  let used = usedBytes(FS, "/");

  const abs = (path: string) => posix.normalize(path.startsWith("/") ? path : posix.join(FS.cwd(), path));

  /** Counts one mutating operation; may cut power or fail it instead of letting it happen. */
  const step = () => {
    counters.ops += 1;
    const op = job.opsBefore + counters.ops;
    if (job.cutAt === op) throw new PowerCut(op);
    const fault = job.faults.find((f) => f.at === op);
    if (fault) throw new FS.ErrnoError(WASI[fault.errno]);
  };
  const sizeOf = (path: string): number => {
    try {
      const node = FS.lookupPath(path).node;
      return FS.isFile(node.mode) ? node.usedBytes : 0;
    } catch {
      return 0;
    }
  };

  const { open, write, close, read, rename, unlink, mkdir, rmdir, truncate, ftruncate } = FS;

  FS.open = (path: string, flags: number | string, mode?: number) => {
    const numeric = typeof flags === "string" ? FS.modeStringToFlags(flags) : flags;
    const full = typeof path === "string" ? abs(path) : path;
    const writing = (numeric & O_ACCMODE) !== 0 && typeof full === "string" && isFlashPath(full);
    if (!writing) return open(path, flags, mode);
    step();
    const before = numeric & O_TRUNC ? sizeOf(full) : 0;
    const stream = open(path, flags, mode);
    const id = nextId++;
    streamIds.set(stream, id);
    used -= blocks(before);
    journal({ t: "open", id, path: FS.getPath(stream.node), truncate: (numeric & O_TRUNC) !== 0 });
    return stream;
  };

  FS.write = (
    stream: EmFS,
    buffer: Int8Array,
    offset: number,
    length: number,
    position?: number,
    canOwn?: boolean,
  ) => {
    const id = streamIds.get(stream);
    if (id === undefined) return write(stream, buffer, offset, length, position, canOwn);
    step();
    const node = stream.node;
    const pos = stream.flags & O_APPEND ? node.usedBytes : (position ?? stream.position);
    const grow = blocks(Math.max(node.usedBytes, pos + length)) - blocks(node.usedBytes);
    if (used + grow > job.flashSizeBytes) throw new FS.ErrnoError(WASI.ENOSPC);
    const n = write(stream, buffer, offset, length, position, canOwn);
    used += grow;
    counters.bytesWritten += n;
    const data = new Uint8Array(buffer.buffer, buffer.byteOffset + offset, n).slice();
    journal({ t: "write", id, pos, data });
    return n;
  };

  FS.close = (stream: EmFS) => {
    const id = streamIds.get(stream);
    if (id !== undefined) {
      step();
      streamIds.delete(stream);
      journal({ t: "close", id });
    }
    return close(stream);
  };

  FS.read = (stream: EmFS, buffer: Int8Array, offset: number, length: number, position?: number) => {
    const n = read(stream, buffer, offset, length, position);
    if (FS.isFile(stream.node.mode) && isFlashPath(FS.getPath(stream.node))) counters.bytesRead += n;
    return n;
  };

  FS.rename = (from: string, to: string) => {
    const src = abs(from);
    const dst = abs(to);
    step();
    const replaced = sizeOf(dst);
    rename(from, to);
    used -= blocks(replaced);
    journal({ t: "rename", from: src, to: dst });
  };

  FS.unlink = (path: string) => {
    const full = abs(path);
    step();
    const size = sizeOf(full);
    unlink(path);
    used -= blocks(size);
    journal({ t: "unlink", path: full });
  };

  FS.mkdir = (path: string, mode?: number) => {
    const full = abs(path);
    if (!isFlashPath(full)) return mkdir(path, mode);
    step();
    const node = mkdir(path, mode);
    journal({ t: "mkdir", path: full });
    return node;
  };

  FS.rmdir = (path: string) => {
    const full = abs(path);
    step();
    rmdir(path);
    journal({ t: "rmdir", path: full });
  };

  const truncateTo = (full: string, length: number, doIt: () => void) => {
    step();
    const size = sizeOf(full);
    const grow = blocks(length) - blocks(size);
    if (used + grow > job.flashSizeBytes) throw new FS.ErrnoError(WASI.ENOSPC);
    doIt();
    used += grow;
    journal({ t: "truncate", path: full, length });
  };
  // FS.open(…, O_TRUNC) on an existing file calls FS.truncate(node, 0): that is part of the open, already
  // journaled (and counted) as an open with truncate, so it passes through.
  FS.truncate = (path: string | object, length: number) =>
    typeof path === "string"
      ? truncateTo(abs(path), length, () => truncate(path, length))
      : truncate(path, length);
  FS.ftruncate = (fd: number, length: number) =>
    truncateTo(FS.getPath(FS.getStreamChecked(fd).node), length, () => ftruncate(fd, length));

  // os.statvfs("/") reports the flash, so device code can check free space before an update.
  FS.statfs = () => {
    const total = Math.floor(job.flashSizeBytes / BLOCK);
    const free = Math.max(0, Math.floor((job.flashSizeBytes - used) / BLOCK));
    return {
      bsize: BLOCK,
      frsize: BLOCK,
      blocks: total,
      bfree: free,
      bavail: free,
      files: 0,
      ffree: 0,
      fsid: 0,
      flags: 0,
      namelen: 255,
    };
  };

  return counters;
}

/** Bytes in use on the flash (whole blocks per file), outside the firmware paths. */
function usedBytes(FS: EmFS, dir: string): number {
  let total = 0;
  for (const name of FS.readdir(dir) as string[]) {
    if (name === "." || name === "..") continue;
    const path = dir === "/" ? `/${name}` : `${dir}/${name}`;
    if (!isFlashPath(path)) continue;
    const node = FS.lookupPath(path).node;
    total += FS.isDir(node.mode) ? usedBytes(FS, path) : blocks(node.usedBytes);
  }
  return total;
}
