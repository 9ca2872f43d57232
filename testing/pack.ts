/**
 * Update packs for tests and benchmarks (src/delta/pack.ts, docs/protocol.md "Update packs"), made from
 * two releases already in a static site and written where a board asks for them:
 * `<site>/<project>/packs/<from16>-<to16>.pack` (src/rules/hex.ts packName).
 * The one place tests make packs: once `mpota release` makes them itself, this becomes a call to it.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makePack, makePatch, type PackPatch } from "../src/delta/index.ts";
import { sha256Hex } from "../src/manifest/index.ts";
import { packName } from "../src/rules/index.ts";
import { sitePaths } from "../src/static/index.ts";
import { inflateBlob } from "../src/store/index.ts";

interface SiteFile {
  path: string;
  sha256: string;
  size: number;
  blobs: { zlib: number };
}

/** Where the pack between two envelopes sits in a site, relative to the site's folder. */
export const packPath = (project: string, from: Uint8Array, to: Uint8Array) =>
  `${project}/packs/${packName(sha256Hex(from), sha256Hex(to))}`;

/**
 * The pack from release `from` to release `to` of `project` in `site`, as `mpota release` makes it: the
 * envelope's Fossil patch, then for each file the board cannot copy a patch from the file at the same
 * path when smaller than its blob, else the blob. Written into the site; returns its bytes and the path
 * a board requests (`/<project>/packs/…`).
 */
export function writeSitePack(
  site: string,
  project: string,
  from: string,
  to: string,
): { bytes: Buffer; path: string } {
  const paths = sitePaths(site, project);
  const envelopes = [from, to].map((v) => readFileSync(paths.release(v)));
  const [old, next] = envelopes.map((e) => JSON.parse(e.toString("utf8")).signed.files as SiteFile[]);
  const file = (f: SiteFile) => inflateBlob(readFileSync(paths.blob(f.sha256)), f.size);
  const before = new Map(old!.map((f) => [f.path, f]));
  const patches: PackPatch[] = [];
  for (const f of next!) {
    const base = before.get(f.path);
    if (!base || base.sha256 === f.sha256) continue;
    const patch = makePatch(file(base), file(f));
    if (patch.bytes.length < f.blobs.zlib)
      patches.push({
        fromSha256: base.sha256,
        toSha256: f.sha256,
        encoding: patch.encoding,
        data: patch.bytes,
      });
  }
  const bytes = makePack({
    from: old!,
    to: next!,
    envelope: {
      sha256: sha256Hex(envelopes[1]!),
      patch: makePatch(envelopes[0]!, envelopes[1]!, { encodings: ["fossil"] }).bytes,
    },
    patches,
    readBlob: (sha256) => readFileSync(paths.blob(sha256)),
  });
  const rel = packPath(project, envelopes[0]!, envelopes[1]!);
  mkdirSync(dirname(join(site, rel)), { recursive: true });
  writeFileSync(join(site, rel), bytes);
  return { bytes, path: `/${rel}` };
}
