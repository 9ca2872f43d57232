/**
 * The release store on disk (content-addressed; what `mpota release --out` writes):
 * ```
 * <root>/blobs/<sha256>.z                          whole file, zlib (2^10 window)
 * <root>/patches/<from_sha256>-<to_sha256>.fz      fossil delta, zlib
 * <root>/packs/<from_sha256>-<to_sha256>.pack      update pack from one release envelope to another
 * <root>/releases/<project>/<version>/manifest.json the signed envelope
 * ```
 * Blobs, patches and packs go in first; the envelope last, by atomic rename: a release is visible only
 * once every file it names is there, and a crash never leaves part of one.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  compareVersions,
  type Envelope,
  envelopeBytes,
  isVersion,
  type Manifest,
  parseReleaseEnvelope,
  sha256Hex,
} from "../manifest/index.ts";
import { isHex64 } from "../rules/hex.ts";
import { isName, NAME_RULE } from "../rules/name.ts";
import { fsyncDir, writeFileAtomic } from "./atomic.ts";
import { compressBlob, inflateBlob } from "./blob.ts";
import { StoreError } from "./errors.ts";

export interface StoredBlob {
  sha256: string;
  size: number;
  /** Bytes of the zlib stream. */
  zsize: number;
}

export interface StoredRelease {
  envelope: Envelope<Manifest>;
  /** The envelope file, exactly as published. */
  bytes: Buffer;
}

function hex(sha256: string): string {
  if (!isHex64(sha256)) throw new StoreError(`${JSON.stringify(sha256)} is not a SHA-256 in hex`);
  return sha256;
}

function checkProject(project: string): string {
  if (!isName(project))
    throw new StoreError(`project ${JSON.stringify(project)} must be a name like ${NAME_RULE}`);
  return project;
}

function checkVersion(version: string): string {
  if (!isVersion(version)) throw new StoreError(`version ${JSON.stringify(version)} is not a semver version`);
  return version;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** A release store rooted at `root` (created on the first write). */
export class ReleaseStore {
  constructor(readonly root: string) {}

  blobPath(sha256: string): string {
    return join(this.root, "blobs", `${hex(sha256)}.z`);
  }

  patchPath(fromSha256: string, toSha256: string): string {
    return join(this.root, "patches", `${hex(fromSha256)}-${hex(toSha256)}.fz`);
  }

  /** An update pack, named by the sha256s of the envelope it starts from and of the one it leads to. */
  packPath(fromSha256: string, toSha256: string): string {
    return join(this.root, "packs", `${hex(fromSha256)}-${hex(toSha256)}.pack`);
  }

  manifestPath(project: string, version: string): string {
    return join(this.root, "releases", checkProject(project), checkVersion(version), "manifest.json");
  }

  hasBlob(sha256: string): boolean {
    return existsSync(this.blobPath(sha256));
  }

  hasPatch(fromSha256: string, toSha256: string): boolean {
    return existsSync(this.patchPath(fromSha256, toSha256));
  }

  hasPack(fromSha256: string, toSha256: string): boolean {
    return existsSync(this.packPath(fromSha256, toSha256));
  }

  /** Stores the file `data` as a zlib blob under its SHA-256 (once: blobs are immutable). */
  putBlob(data: Uint8Array): StoredBlob {
    const sha256 = sha256Hex(data);
    const file = this.blobPath(sha256);
    let zsize: number;
    if (existsSync(file)) zsize = readFileSync(file).length;
    else {
      const compressed = compressBlob(data);
      writeFileAtomic(file, compressed, { syncDir: false }); // synced by putRelease
      zsize = compressed.length;
    }
    return { sha256, size: data.length, zsize };
  }

  /** The stored zlib stream of a file. */
  readBlob(sha256: string): Buffer {
    try {
      return readFileSync(this.blobPath(sha256));
    } catch {
      throw new StoreError(`blob ${sha256} is not in the store ${this.root}`);
    }
  }

  /** A file's bytes, inflated and checked against its SHA-256 and size. */
  readFile(sha256: string, size: number): Buffer {
    let data: Buffer;
    try {
      data = inflateBlob(this.readBlob(sha256), size);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(`blob ${sha256} is damaged (${(err as Error).message})`);
    }
    if (data.length !== size || sha256Hex(data) !== sha256)
      throw new StoreError(`blob ${sha256} is damaged (its content does not match its name)`);
    return data;
  }

  /** Stores a patch (already zlib-compressed fossil delta) from one file to another. */
  putPatch(fromSha256: string, toSha256: string, compressed: Uint8Array): void {
    const file = this.patchPath(fromSha256, toSha256);
    if (!existsSync(file)) writeFileAtomic(file, compressed, { syncDir: false }); // synced by putRelease
  }

  readPatch(fromSha256: string, toSha256: string): Buffer {
    try {
      return readFileSync(this.patchPath(fromSha256, toSha256));
    } catch {
      throw new StoreError(`patch ${fromSha256}-${toSha256} is not in the store ${this.root}`);
    }
  }

  /** Stores an update pack (src/delta/pack.ts) from one release envelope to another. */
  putPack(fromSha256: string, toSha256: string, pack: Uint8Array): void {
    const file = this.packPath(fromSha256, toSha256);
    if (!existsSync(file)) writeFileAtomic(file, pack, { syncDir: false }); // synced by putRelease
  }

  readPack(fromSha256: string, toSha256: string): Buffer {
    try {
      return readFileSync(this.packPath(fromSha256, toSha256));
    } catch {
      throw new StoreError(`update pack ${fromSha256}-${toSha256} is not in the store ${this.root}`);
    }
  }

  /**
   * Adds a signed release. Every blob and patch it names must be in the store already; a version
   * is written once (the same bytes again are accepted, different ones refused).
   */
  putRelease(envelope: Envelope<Manifest>): StoredRelease {
    const bytes = envelopeBytes(envelope);
    const { project, version, files } = envelope.signed;
    const file = this.manifestPath(project, version);
    for (const entry of files) {
      if (!this.hasBlob(entry.sha256))
        throw new StoreError(`blob of ${entry.path} (${entry.sha256}) is not in the store`);
      for (const patch of entry.blobs.patches ?? []) {
        if (!this.hasPatch(patch.from_sha256, entry.sha256))
          throw new StoreError(`patch of ${entry.path} from ${patch.from_sha256} is not in the store`);
      }
    }
    // The blobs, patches and packs become durable before the manifest that makes them reachable.
    for (const dir of ["blobs", "patches", "packs"])
      if (existsSync(join(this.root, dir))) fsyncDir(join(this.root, dir));
    try {
      writeFileAtomic(file, bytes, { exclusive: true }); // a version is written once, even by racing writers
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (!readFileSync(file).equals(bytes))
        throw new StoreError(
          `release ${project} ${version} is already in the store (versions are immutable)`,
        );
    }
    return { envelope, bytes };
  }

  hasRelease(project: string, version: string): boolean {
    return existsSync(this.manifestPath(project, version));
  }

  /** A stored release, its envelope parsed and validated. */
  readRelease(project: string, version: string): StoredRelease {
    const file = this.manifestPath(project, version);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      throw new StoreError(`release ${project} ${version} is not in the store ${this.root}`);
    }
    return { envelope: parseReleaseEnvelope(bytes), bytes };
  }

  /** Projects with at least one release. */
  listProjects(): string[] {
    return listDir(join(this.root, "releases"))
      .filter((p) => isName(p) && this.listReleases(p).length > 0)
      .sort();
  }

  /** Versions of a project's complete releases, oldest first (semver order). */
  listReleases(project: string): string[] {
    const dir = join(this.root, "releases", checkProject(project));
    return listDir(dir)
      .filter((v) => isVersion(v) && existsSync(join(dir, v, "manifest.json")))
      .sort(compareVersions);
  }

  /**
   * The stored patches from the envelopes of a project's earlier releases to the envelope of `version`
   * (what a board on one of them downloads instead of the whole envelope), by the envelopes' sha256s.
   */
  envelopePatches(project: string, version: string): Array<{ from: string; to: string }> {
    return this.envelopePairs(project, version).filter((p) => this.hasPatch(p.from, p.to));
  }

  /**
   * The stored update packs from a project's earlier releases to `version` (what a board on one of them
   * downloads for the whole update), by the envelopes' sha256s.
   */
  updatePacks(project: string, version: string): Array<{ from: string; to: string }> {
    return this.envelopePairs(project, version).filter((p) => this.hasPack(p.from, p.to));
  }

  /** The envelope sha256s of each earlier release of a project, paired with that of `version`. */
  private envelopePairs(project: string, version: string): Array<{ from: string; to: string }> {
    const to = sha256Hex(readFileSync(this.manifestPath(project, version)));
    return this.listReleases(project)
      .filter((v) => compareVersions(v, version) < 0)
      .map((v) => ({ from: sha256Hex(readFileSync(this.manifestPath(project, v))), to }));
  }

  /** The highest version of a project in the store, if any. */
  latestVersion(project: string): string | undefined {
    return this.listReleases(project).at(-1);
  }
}

export function openStore(root: string): ReleaseStore {
  return new ReleaseStore(root);
}
