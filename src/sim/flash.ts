/**
 * The durable flash of a virtual device, owned by the host thread. The device worker journals every
 * mutating operation; replaying them here under a durability model gives exactly what survives a
 * power cut at any point, even when the worker had to be killed (a watchdog on a spinning device).
 */
import type { DurabilityModel, JournalOp } from "./worker/protocol.ts";

/** Device paths without leading "/" -> contents; an empty directory is a key ending in "/". */
export type FlashTree = Record<string, Uint8Array | string>;

/** A growable byte buffer, so a file written in small chunks costs linear time. */
class FileBytes {
  private buf: Uint8Array;
  length: number;

  constructor(initial: Uint8Array = new Uint8Array(0)) {
    this.buf = initial.slice();
    this.length = initial.length;
  }

  clone(): FileBytes {
    return new FileBytes(this.view());
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  write(pos: number, data: Uint8Array): void {
    const end = pos + data.length;
    if (end > this.buf.length) {
      const grown = new Uint8Array(Math.max(end, this.buf.length * 2, 256));
      grown.set(this.view());
      this.buf = grown;
    }
    if (pos > this.length) this.buf.fill(0, this.length, pos);
    this.buf.set(data, pos);
    this.length = Math.max(this.length, end);
  }

  truncate(length: number): void {
    if (length > this.length) this.write(this.length, new Uint8Array(length - this.length));
    this.length = length;
  }
}

interface OpenFile {
  path: string;
  /** commit-on-close: the new content, durable only when the file is closed. */
  pending?: FileBytes;
}

const strip = (path: string) => path.replace(/^\/+/, "").replace(/\/+$/, "");

export class Flash {
  private readonly files = new Map<string, FileBytes>();
  private readonly dirs = new Set<string>();
  private readonly open = new Map<number, OpenFile>();

  constructor(
    tree: FlashTree,
    readonly model: DurabilityModel,
  ) {
    for (const [key, value] of Object.entries(tree)) {
      if (key.endsWith("/")) {
        this.addDir(strip(key));
        continue;
      }
      const path = strip(key);
      this.addDir(parentOf(path));
      this.files.set(path, new FileBytes(typeof value === "string" ? Buffer.from(value) : value));
    }
  }

  private addDir(path: string): void {
    for (let p = path; p !== ""; p = parentOf(p)) this.dirs.add(p);
  }

  apply(op: JournalOp): void {
    switch (op.t) {
      case "open": {
        const path = strip(op.path);
        const existing = this.files.get(path);
        if (!existing) this.files.set(path, new FileBytes());
        const file: OpenFile = { path };
        if (this.model === "commit-on-close") {
          file.pending = op.truncate ? new FileBytes() : (existing?.clone() ?? new FileBytes());
        } else if (op.truncate) {
          this.files.set(path, new FileBytes());
        }
        this.open.set(op.id, file);
        return;
      }
      case "write": {
        const file = this.open.get(op.id);
        if (!file) return;
        (file.pending ?? this.files.get(file.path))?.write(op.pos, op.data);
        return;
      }
      case "close": {
        const file = this.open.get(op.id);
        this.open.delete(op.id);
        if (file?.pending && this.files.has(file.path)) this.files.set(file.path, file.pending);
        return;
      }
      case "rename":
        this.rename(strip(op.from), strip(op.to));
        return;
      case "unlink":
        this.files.delete(strip(op.path));
        return;
      case "mkdir":
        this.dirs.add(strip(op.path));
        return;
      case "rmdir":
        this.dirs.delete(strip(op.path));
        return;
      case "truncate": {
        const path = strip(op.path);
        this.files.get(path)?.truncate(op.length);
        for (const file of this.open.values()) if (file.path === path) file.pending?.truncate(op.length);
        return;
      }
    }
  }

  private rename(from: string, to: string): void {
    const file = this.files.get(from);
    if (file) {
      this.files.delete(from);
      this.files.set(to, file);
      for (const open of this.open.values()) if (open.path === from) open.path = to;
      return;
    }
    // A directory: move everything below it.
    const prefix = `${from}/`;
    for (const [path, bytes] of [...this.files]) {
      if (!path.startsWith(prefix)) continue;
      this.files.delete(path);
      this.files.set(to + path.slice(from.length), bytes);
    }
    for (const dir of [...this.dirs]) {
      if (dir !== from && !dir.startsWith(prefix)) continue;
      this.dirs.delete(dir);
      this.dirs.add(to + dir.slice(from.length));
    }
  }

  /** The power went away (or the board reset): files still open lose what was not committed. */
  endBoot(): void {
    this.open.clear();
  }

  /** Current durable content: files, plus empty directories as "dir/". */
  tree(): Record<string, Uint8Array> {
    const out: Record<string, Uint8Array> = {};
    const nonEmpty = new Set<string>();
    for (const [path, bytes] of this.files) {
      out[path] = bytes.view().slice();
      for (let p = parentOf(path); p !== ""; p = parentOf(p)) nonEmpty.add(p);
    }
    for (const dir of this.dirs) if (!nonEmpty.has(dir)) out[`${dir}/`] = new Uint8Array(0);
    return out;
  }

  read(path: string): Uint8Array | undefined {
    return this.files.get(strip(path))?.view().slice();
  }
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}
