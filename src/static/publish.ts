/**
 * `mpota publish --static`: copies a release from the store into the static layout of
 * docs/protocol.md, which any web server, object store or CDN can host:
 * ```
 * <site>/<project>/blobs/<sha256>.z  patches/<from>-<to>.fz  packs/<from16>-<to16>.pack
 *                  releases/<version>.json  channels/<channel>.json  channels/<channel>.up  channels/<channel>.pack
 * ```
 * `channels/<channel>.up` is the check answer: the pointer with the update pack from the release the
 * channel named before (docs/protocol.md, "Check answers"); `.pack` the same in the format that boards of
 * the first check answers read.
 * Blobs, patches, update packs and the envelope are written first, the check answer and the channel pointer
 * last, each by atomic rename: a device reading the site at any moment sees the old release or the new one.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  ANSWER_FORMATS,
  type AnswerFormat,
  answerPack,
  checkAnswer,
  decodePackTo,
  PatchError,
} from "../delta/index.ts";
import {
  type ChannelPointer,
  channelPointer,
  compareVersions,
  envelopeBytes,
  isoSeconds,
  parsePointerEnvelope,
  type SigningKey,
  sha256Hex,
  signEnvelope,
} from "../manifest/index.ts";
import { packName } from "../rules/index.ts";
import { fsyncDir, inflateBlob, type ReleaseStore, StoreError, writeFileAtomic } from "../store/index.ts";

export interface StaticPublishOptions {
  site: string;
  store: ReleaseStore;
  project: string;
  version: string;
  channel: string;
  /** Sign the channel pointer (recommended, with `expires`); unsigned otherwise. */
  key?: SigningKey | readonly SigningKey[];
  expires?: Date;
  onProgress?: (done: number, total: number) => void;
}

export interface StaticPublishResult {
  project: string;
  version: string;
  channel: string;
  pointer: ChannelPointer;
  signed: boolean;
  /** Files written / already on the site (blobs, patches and update packs). */
  written: number;
  skipped: number;
  bytes: number;
  /** The channel's version before, if it had one. */
  previous?: string;
}

/** Where the files of a project sit in a static site. */
export function sitePaths(site: string, project: string) {
  const root = join(site, project);
  return {
    root,
    blob: (sha256: string) => join(root, "blobs", `${sha256}.z`),
    patch: (from: string, to: string) => join(root, "patches", `${from}-${to}.fz`),
    /** An update pack, by the sha256s of the running envelope and the new one. */
    pack: (from: string, to: string) => join(root, "packs", packName(from, to)),
    release: (version: string) => join(root, "releases", `${version}.json`),
    channel: (channel: string) => join(root, "channels", `${channel}.json`),
    /** The channel's check answer: its pointer, with the update pack from the release before it. */
    answer: (channel: string, format: AnswerFormat) => join(root, "channels", `${channel}.${format}`),
  };
}

const sameSize = (file: string, size: number) => existsSync(file) && statSync(file).size === size;

/** What the channel's pointer names now: its version and envelope sha256. */
function currentRelease(file: string): { version: string; sha256: string } | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const { version, sha256 } = parsePointerEnvelope(readFileSync(file)).signed;
    return { version, sha256 };
  } catch {
    return undefined; // a damaged pointer is simply replaced
  }
}

/** Refuses a stored update pack that does not parse or does not lead to the envelope `to`. */
function checkPack(data: Uint8Array, from: string, to: string): void {
  try {
    decodePackTo(data, to);
  } catch (err) {
    if (!(err instanceof PatchError)) throw err;
    throw new StoreError(`update pack ${from}-${to} in the store is damaged (${err.message})`);
  }
}

/** The site's envelope of release `version` when it is the one of sha256 `sha256`. */
function siteEnvelope(
  paths: ReturnType<typeof sitePaths>,
  version: string,
  sha256: string,
): Buffer | undefined {
  const file = paths.release(version);
  const bytes = existsSync(file) ? readFileSync(file) : undefined;
  return bytes && sha256Hex(bytes) === sha256 ? bytes : undefined;
}

/**
 * Points `channel` at the envelope `pointer` names: writes its check answers (the pointer, with the site's
 * update pack from the release the channel named before when there is one; in each format) and then the
 * pointer itself, each by atomic rename (a board before check answers reads only the pointer). -> the
 * bytes written.
 */
export function writeChannel(paths: ReturnType<typeof sitePaths>, channel: string, pointer: Buffer): number {
  const file = paths.channel(channel);
  const from = currentRelease(file);
  const to = parsePointerEnvelope(pointer).signed;
  const packFile = from && from.sha256 !== to.sha256 ? paths.pack(from.sha256, to.sha256) : undefined;
  const pack = packFile && existsSync(packFile) ? readFileSync(packFile) : undefined;
  const fromEnvelope = from && pack && siteEnvelope(paths, from.version, from.sha256);
  const toEnvelope = pack && siteEnvelope(paths, to.version, to.sha256);
  let written = 0;
  for (const format of ANSWER_FORMATS) {
    // Without both envelopes the pack goes as it is stored (its envelope's patch in Fossil).
    const attached =
      from && pack
        ? {
            fromSha256: from.sha256,
            pack: fromEnvelope && toEnvelope ? answerPack(pack, format, fromEnvelope, toEnvelope) : pack,
          }
        : undefined;
    const answer = checkAnswer(pointer, format, attached);
    writeFileAtomic(paths.answer(channel, format), answer);
    written += answer.length;
  }
  writeFileAtomic(file, pointer);
  return written + pointer.length;
}

/** Publishes a stored release to a static site and points `channel` at it (the pointer last). */
export function publishStatic(options: StaticPublishOptions): StaticPublishResult {
  const { store, project, version, channel } = options;
  const { envelope, bytes } = store.readRelease(project, version);
  const paths = sitePaths(options.site, project);
  const pointerFile = paths.channel(channel);
  const previous = currentRelease(pointerFile)?.version;
  if (previous !== undefined && compareVersions(version, previous) < 0) {
    if (!envelope.signed.rollback)
      throw new StoreError(
        `channel ${channel} is at ${previous}; ${version} is older and not a rollback release, so devices would refuse it (build it with --rollback)`,
      );
    const from = envelope.signed.rollback_from ?? [];
    if (!from.includes(previous))
      throw new StoreError(
        `channel ${channel} is at ${previous}; ${version} is a rollback release from ${from.join(", ") || "no release"} only, so devices on ${previous} would refuse it (build it with --rollback-from ${previous})`,
      );
  }
  const jobs: Array<{ file: string; size: number; load: () => Buffer }> = [];
  for (const entry of envelope.signed.files) {
    jobs.push({
      file: paths.blob(entry.sha256),
      size: entry.blobs.zlib,
      load: () => {
        store.readFile(entry.sha256, entry.size); // checks the stored blob before it goes out
        return store.readBlob(entry.sha256);
      },
    });
    for (const patch of entry.blobs.patches ?? []) {
      jobs.push({
        file: paths.patch(patch.from_sha256, entry.sha256),
        size: patch.size,
        load: () => {
          const data = store.readPatch(patch.from_sha256, entry.sha256);
          if (sha256Hex(data) !== patch.sha256_of_patch)
            throw new StoreError(`patch ${patch.from_sha256}-${entry.sha256} in the store is damaged`);
          inflateBlob(data, 64 * 1024 * 1024);
          return data;
        },
      });
    }
  }
  for (const { from, to } of store.envelopePatches(project, version)) {
    jobs.push({
      file: paths.patch(from, to),
      size: statSync(store.patchPath(from, to)).size,
      load: () => {
        const data = store.readPatch(from, to);
        inflateBlob(data, 64 * 1024 * 1024); // a damaged stored patch does not go out
        return data;
      },
    });
  }
  for (const { from, to } of store.updatePacks(project, version)) {
    jobs.push({
      file: paths.pack(from, to),
      size: statSync(store.packPath(from, to)).size,
      load: () => {
        const data = store.readPack(from, to);
        checkPack(data, from, to); // a damaged stored pack does not go out
        return data;
      },
    });
  }
  let written = 0;
  let done = 0;
  let size = 0;
  for (const job of jobs) {
    if (!sameSize(job.file, job.size)) {
      const data = job.load();
      writeFileAtomic(job.file, data, { syncDir: false });
      written++;
      size += data.length;
    }
    options.onProgress?.(++done, jobs.length);
  }
  // Blobs, patches and packs become durable before the envelope and pointer that name them.
  for (const dir of ["blobs", "patches", "packs"])
    if (existsSync(join(paths.root, dir))) fsyncDir(join(paths.root, dir));
  const releaseFile = paths.release(version);
  try {
    writeFileAtomic(releaseFile, bytes, { exclusive: true }); // immutable, even with racing publishers
    size += bytes.length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if (!readFileSync(releaseFile).equals(bytes))
      throw new StoreError(
        `${releaseFile} holds a different release ${version}; published versions are immutable (devices may have it cached)`,
      );
  }
  const pointer = channelPointer({
    channel,
    project,
    version,
    envelope: bytes,
    expires: options.expires && isoSeconds(options.expires),
  });
  const keys = options.key === undefined ? [] : Array.isArray(options.key) ? options.key : [options.key];
  const pointerBytes = envelopeBytes(
    keys.length > 0 ? signEnvelope(pointer, keys) : { signed: pointer, signatures: [] },
  );
  size += writeChannel(paths, channel, pointerBytes);
  return {
    project,
    version,
    channel,
    pointer,
    signed: keys.length > 0,
    written,
    skipped: jobs.length - written,
    bytes: size,
    ...(previous === undefined ? {} : { previous }),
  };
}

/** `--expires` as a date: a duration from `now` (`30d`, `12h`, `90m`) or an ISO-8601 UTC time. */
export function parseExpiry(text: string, now = new Date()): Date | undefined {
  const duration = /^(\d+)([dhm])$/.exec(text);
  if (duration) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[duration[2] as "d" | "h" | "m"];
    return new Date(now.getTime() + Number(duration[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z)?$/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
