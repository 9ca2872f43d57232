/**
 * The server's files, content-addressed, in the static layout under `<data>/store`:
 * `<project>/blobs/<sha256>.z`, `<project>/patches/<from>-<to>.fz`, `<project>/packs/<from16>-<to16>.pack`,
 * `<project>/releases/<sha256>.json`.
 * Every file is written to `<data>/tmp` first, synced, checked, and renamed into place, so a crash
 * leaves either no file or a whole one; leftovers in tmp are removed at start.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DataError } from "./errors.ts";

export type StoreKind = "blobs" | "patches" | "packs" | "releases";

export class FileStore {
  readonly root: string;
  private readonly tmp: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, "store");
    this.tmp = join(dataDir, "tmp");
  }

  async init(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true });
    await mkdir(this.tmp, { recursive: true });
    await mkdir(this.root, { recursive: true });
  }

  /** `name` must already be checked against its route pattern (hex names, semver versions). */
  path(project: string, kind: StoreKind, name: string): string {
    return join(this.root, project, kind, name);
  }

  /** The file's size, or undefined when it is not there. */
  async size(project: string, kind: StoreKind, name: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(project, kind, name))).size;
    } catch {
      return undefined;
    }
  }

  /**
   * Streams `source` into the store under `name`; more than `limit` bytes: a too-large DataError. `check` sees the
   * written temporary file and throws to refuse it; only a checked file is renamed into place.
   */
  async put(
    project: string,
    kind: StoreKind,
    name: string,
    source: Readable | Buffer,
    limit: number,
    check: (tmpPath: string, size: number) => Promise<void> = async () => {},
  ): Promise<number> {
    const tmpPath = join(this.tmp, `${kind}-${randomBytes(8).toString("hex")}`);
    let size = 0;
    let renamed = false;
    try {
      if (Buffer.isBuffer(source)) {
        if (source.length > limit) throw tooLarge(limit);
        size = source.length;
        const file = await open(tmpPath, "w");
        try {
          await file.writeFile(source);
          await file.sync();
        } finally {
          await file.close();
        }
      } else {
        const out = createWriteStream(tmpPath);
        await pipeline(
          source,
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              size += chunk.length;
              if (size > limit) throw tooLarge(limit);
              yield chunk;
            }
          },
          out,
        );
        const file = await open(tmpPath, "r+");
        await file.sync().finally(() => file.close());
      }
      await check(tmpPath, size);
      const target = this.path(project, kind, name);
      await mkdir(join(this.root, project, kind), { recursive: true });
      await rename(tmpPath, target);
      renamed = true;
      return size;
    } finally {
      if (!renamed) await rm(tmpPath, { force: true });
    }
  }
}

function tooLarge(limit: number): DataError {
  return new DataError("too-large", `upload is larger than the limit of ${limit} bytes`);
}
