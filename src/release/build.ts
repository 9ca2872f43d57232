/**
 * Building a release: read the source files, store each as a zlib blob, ask the optional patch
 * maker for patches from earlier releases, sign the manifest, make the envelope patch and update pack
 * from each earlier release, and add the envelope to the store last (a release is visible only when
 * complete).
 */
import {
  comparePaths,
  compareVersions,
  type Envelope,
  envelopeBytes,
  type FileEntry,
  gitBlobSha1,
  type Hooks,
  isoSeconds,
  type Manifest,
  type PatchEntry,
  parseVersion,
  type SigningKey,
  sha256Hex,
  signEnvelope,
  validateManifest,
} from "../manifest/index.ts";
import { type ReleaseStore, type StoredRelease, StoreError } from "../store/index.ts";
import { ReleaseError } from "./errors.ts";
import { type FilterOptions, makeFilter } from "./filter.ts";
import { listDirFiles, listGitFiles, type SourceFile } from "./list-files.ts";

/** A file of the new release, with its bytes, as the patch maker sees it. */
export interface NewFile {
  entry: FileEntry;
  data: Buffer;
}

export interface PatchContext {
  project: string;
  version: string;
  files: readonly NewFile[];
  /** Earlier releases of the project in the store, newest first (at most `patchBases`). */
  previous: readonly StoredRelease[];
  /** To read old files: `store.readFile(sha256, size)`. */
  store: ReleaseStore;
}

/** One patch for a file of the new release: its manifest entry and its bytes (zlib of a delta). */
export interface MadePatch {
  path: string;
  patch: PatchEntry;
  data: Uint8Array;
}

/** The seam for delta patches (src/delta): given the new files and earlier releases, the patches. */
export type MakePatches = (context: PatchContext) => MadePatch[] | Promise<MadePatch[]>;

/**
 * The seam for update packs (src/delta's makeReleasePack): the pack from an earlier release (`from`, its
 * files) to the new one (`to`), given the patch from the earlier envelope to the new one and the patches
 * made for the new release (from any earlier release; the pack takes those from `from`'s files).
 */
export type MakePack = (args: {
  from: readonly FileEntry[];
  to: readonly FileEntry[];
  envelope: { sha256: string; patch: Uint8Array };
  patches: readonly MadePatch[];
  /** A file's stored zlib blob. */
  readBlob: (sha256: string) => Uint8Array;
}) => Uint8Array;

export type ReleaseProgress = (event: {
  phase: "read" | "patch" | "sign";
  done: number;
  total: number;
}) => void;

export interface BuildOptions extends FilterOptions {
  /** A folder to release... */
  dir?: string;
  /** ...or a git ref (commit, tag, branch) of `repo` (default: the current folder), below `dir` if given. */
  gitRef?: string;
  repo?: string;
  project: string;
  version: string;
  key: SigningKey | readonly SigningKey[];
  store: ReleaseStore;
  /** A signed rollback release: allowed to be older than the latest release... */
  rollback?: boolean;
  /** ...and the releases (newer ones) a board may leave for it; boards on any other version refuse it. */
  rollbackFrom?: readonly string[];
  hooks?: Hooks;
  minLoader?: number;
  /** Default: now (or $SOURCE_DATE_EPOCH), UTC, whole seconds. */
  created?: Date;
  /** Absolute paths never taken from `dir` (the key file, the store are always left out). */
  exclude?: readonly string[];
  makePatches?: MakePatches;
  /**
   * A patch from an earlier envelope to this one, undefined when not worth it (src/delta's
   * makeEnvelopePatch): stored for each earlier release the patch maker is offered, so that a board on
   * one of them downloads the change of the envelope instead of all of it.
   */
  makeEnvelopePatch?: (from: Uint8Array, to: Uint8Array) => Uint8Array | undefined;
  /**
   * Makes, for each earlier release that gets an envelope patch, the update pack from it
   * (packs/<from>-<to>.pack: the envelope patch and every file's patch or blob, one download).
   */
  makePack?: MakePack;
  /**
   * Also list each file's patches in the signed manifest (`blobs.patches`) and store them for
   * publishing: for boards from before update packs, which fetch patches only from those lists. Off by
   * default: the lists cost ~200 B per patch inside the envelope (and its patch), and packs carry the
   * patches without them.
   */
  signedPatches?: boolean;
  /** Rewrites the files before they are stored (`mpota release --mpy`: .py compiled to .mpy). */
  transform?: (files: SourceFile[]) => SourceFile[] | Promise<SourceFile[]>;
  /** How many earlier releases the patch maker is offered (default 3). */
  patchBases?: number;
  /**
   * Files added at `lib/mpota/` when the release has none there: the device's mpota package, which
   * a board running from its slots needs to update again (`mpota release` passes it by default).
   */
  mpotaPackage?: Record<string, Uint8Array>;
  /** Refuse a release without main.py, which the board's loader runs at every boot (`mpota release`, unless --no-main). */
  requireMain?: boolean;
  onProgress?: ReleaseProgress;
}

export interface BuiltRelease {
  envelope: Envelope<Manifest>;
  /** The envelope file, as stored and published. */
  bytes: Buffer;
  sha256: string;
  /** Bytes of all files, and of their zlib blobs. */
  size: number;
  zsize: number;
  newBlobs: number;
  /** Patches made for the release's files (in its packs; listed in the manifest with signedPatches). */
  patches: number;
  /** Update packs stored, one per earlier release with an envelope patch. */
  packs: number;
}

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

function createdAt(created: Date | undefined): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const date = created ?? (epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date());
  return isoSeconds(date);
}

function checkOrder(options: BuildOptions): void {
  if (options.rollback && !options.rollbackFrom?.length)
    throw new ReleaseError(
      "a rollback release names the releases boards may leave for it (--rollback-from 1.2.0,1.2.1): boards on any other version refuse it",
    );
  if (!options.rollback && options.rollbackFrom?.length)
    throw new ReleaseError("--rollback-from names what a rollback release replaces: add --rollback");
  const latest = options.store.latestVersion(options.project);
  if (latest === undefined) return;
  const order = compareVersions(options.version, latest);
  if (order === 0 || options.store.hasRelease(options.project, options.version))
    throw new ReleaseError(
      `release ${options.project} ${options.version} is already in the store; choose a new version`,
    );
  if (order < 0 && !options.rollback)
    throw new ReleaseError(
      `version ${options.version} is not greater than ${latest}, the latest release of ${options.project} in the store (--rollback makes a signed rollback release on purpose)`,
    );
}

function sourceFiles(options: BuildOptions): SourceFile[] {
  const filter = makeFilter(options);
  let files: SourceFile[];
  if (options.gitRef !== undefined) {
    files = listGitFiles(options.repo ?? ".", options.gitRef, filter, options.dir);
  } else if (options.dir !== undefined) {
    files = listDirFiles(options.dir, filter, [options.store.root, ...(options.exclude ?? [])]);
  } else throw new ReleaseError("give a folder or a git ref to release");
  const unmatched = filter.unmatched();
  if (unmatched.length > 0) throw new ReleaseError(`--allow ${unmatched.join(", ")} matched no file`);
  if (files.length === 0) throw new ReleaseError("there are no files to release");
  return files.sort((a, b) => comparePaths(a.path, b.path));
}

function withMpotaPackage(files: SourceFile[], pkg: Record<string, Uint8Array> | undefined): SourceFile[] {
  if (!pkg || files.some((f) => f.path.startsWith("lib/mpota/"))) return files;
  const added = Object.entries(pkg).map(([path, data]) => ({ path, read: () => Buffer.from(data) }));
  return [...files, ...added].sort((a, b) => comparePaths(a.path, b.path));
}

function previousReleases(options: BuildOptions): StoredRelease[] {
  const count = options.patchBases ?? 3;
  return options.store
    .listReleases(options.project)
    .filter((v) => compareVersions(v, options.version) < 0)
    .slice(-count)
    .reverse()
    .map((v) => options.store.readRelease(options.project, v));
}

/** The patch maker's patches, checked; with signedPatches, stored and listed in the file entries. */
async function addPatches(
  options: BuildOptions,
  files: NewFile[],
  previous: readonly StoredRelease[],
): Promise<MadePatch[]> {
  if (!options.makePatches) return [];
  if (previous.length === 0) return [];
  const made = await options.makePatches({
    project: options.project,
    version: options.version,
    files,
    previous,
    store: options.store,
  });
  const byPath = new Map(files.map((f) => [f.entry.path, f.entry]));
  for (const { path, patch, data } of made) {
    const entry = byPath.get(path);
    if (!entry)
      throw new ReleaseError(`the patch maker made a patch for ${path}, which is not in the release`);
    if (patch.size !== data.length || patch.sha256_of_patch !== sha256Hex(data))
      throw new ReleaseError(
        `the patch maker's patch for ${path} does not match its size or sha256_of_patch`,
      );
    if (!options.signedPatches) continue;
    options.store.putPatch(patch.from_sha256, entry.sha256, data);
    entry.blobs.patches = [...(entry.blobs.patches ?? []), patch];
  }
  return made;
}

/**
 * Patches from the envelopes of `previous` to `bytes`, and the update packs from those releases,
 * stored before the release that they lead to; returns how many packs.
 */
function addEnvelopePatches(
  options: BuildOptions,
  previous: readonly StoredRelease[],
  bytes: Uint8Array,
  manifest: Manifest,
  made: readonly MadePatch[],
): number {
  if (!options.makeEnvelopePatch) return 0;
  const to = sha256Hex(bytes);
  let packs = 0;
  for (const release of previous) {
    const patch = options.makeEnvelopePatch(release.bytes, bytes);
    if (!patch) continue; // no pack either: a board without the envelope patch reads the whole envelope
    const from = sha256Hex(release.bytes);
    options.store.putPatch(from, to, patch);
    if (!options.makePack) continue;
    const pack = options.makePack({
      from: release.envelope.signed.files,
      to: manifest.files,
      envelope: { sha256: to, patch },
      patches: made,
      readBlob: (sha256) => options.store.readBlob(sha256),
    });
    options.store.putPack(from, to, pack);
    packs++;
  }
  return packs;
}

/** Builds, signs and stores a release; ReleaseError (or ManifestError) saying what is wrong. */
export async function buildRelease(options: BuildOptions): Promise<BuiltRelease> {
  parseVersion(options.version);
  checkOrder(options);
  let sources = withMpotaPackage(sourceFiles(options), options.mpotaPackage);
  if (options.transform)
    sources = (await options.transform(sources)).sort((a, b) => comparePaths(a.path, b.path));
  if (options.requireMain && !sources.some((f) => f.path === "main.py"))
    throw new ReleaseError(
      "the release has no main.py, which the board's loader runs at every boot (a board would fail each boot); " +
        "add main.py at the top of the release, or pass --no-main if the board starts the app another way",
    );
  for (const [hook, path] of Object.entries(options.hooks ?? {})) {
    if (!sources.some((f) => f.path === path))
      throw new ReleaseError(`the ${hook} hook ${path} is not a file of the release`);
  }
  const progress = options.onProgress ?? (() => {});
  const files: NewFile[] = [];
  let size = 0;
  let zsize = 0;
  let newBlobs = 0;
  for (const source of sources) {
    const data = source.read();
    if (PRIVATE_KEY.test(data.subarray(0, 65536).toString("latin1")))
      throw new ReleaseError(
        `${source.path} holds a private key; it must not ship (--ignore ${source.path})`,
      );
    const existed = options.store.hasBlob(sha256Hex(data));
    const blob = options.store.putBlob(data);
    if (!existed) newBlobs++;
    const entry: FileEntry = {
      path: source.path,
      size: blob.size,
      sha256: blob.sha256,
      blobs: { zlib: blob.zsize },
    };
    if (source.gitSha1 !== undefined) {
      if (gitBlobSha1(data) !== source.gitSha1)
        throw new ReleaseError(`${source.path}: git gave bytes that do not match its blob id`);
      entry.git_sha1 = source.gitSha1;
    }
    files.push({ entry, data });
    size += blob.size;
    zsize += blob.zsize;
    progress({ phase: "read", done: files.length, total: sources.length });
  }
  const previous = options.makePatches || options.makeEnvelopePatch ? previousReleases(options) : [];
  const made = await addPatches(options, files, previous);
  progress({ phase: "patch", done: 1, total: 1 });
  const manifest = validateManifest({
    format: 1,
    project: options.project,
    version: options.version,
    created: createdAt(options.created),
    ...(options.rollback ? { rollback: true, rollback_from: [...(options.rollbackFrom ?? [])] } : {}),
    ...(options.minLoader === undefined ? {} : { min_loader: options.minLoader }),
    ...(options.hooks && Object.keys(options.hooks).length > 0 ? { hooks: options.hooks } : {}),
    files: files.map((f) => f.entry),
  });
  const envelope = signEnvelope(manifest, options.key);
  progress({ phase: "sign", done: 1, total: 1 });
  const packs = addEnvelopePatches(options, previous, envelopeBytes(envelope), manifest, made);
  let stored: StoredRelease;
  try {
    stored = options.store.putRelease(envelope);
  } catch (err) {
    if (err instanceof StoreError) throw new ReleaseError(err.message);
    throw err;
  }
  return {
    envelope,
    bytes: stored.bytes,
    sha256: sha256Hex(stored.bytes),
    size,
    zsize,
    newBlobs,
    patches: made.length,
    packs,
  };
}
