/**
 * What a board downloads from the demo's site, in words: the channel pointer (with the update pack its
 * check answer brings), a release manifest, or a file of a release (whole or as a delta patch), named by
 * its path in the release, or an update pack.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ANSWER_FORMATS, answerPointer } from "../delta/index.ts";
import { type Manifest, parsePointerEnvelope } from "../manifest/index.ts";
import { packNameParts } from "../rules/index.ts";
import type { ServedRequest } from "../static/index.ts";

export interface Download {
  kind: "channel" | "release" | "pack" | "patch" | "blob" | "missing";
  /** In words: `main.py (delta patch)`. */
  what: string;
  bytes: number;
}

export interface Traffic {
  /** Learns the file paths of a release (and its envelope's sha256), to name what boards fetch. */
  learn: (manifest: Manifest, envelopeSha256?: string) => void;
  describe: (request: ServedRequest) => Download;
}

/** `site`: the served folder, where a check answer (channels/<channel>.pack) is told from its pointer. */
export function traffic(site?: string): Traffic {
  const paths = new Map<string, string>(); // file sha256 -> its path in a release
  const envelopes = new Map<string, string>(); // envelope sha256 -> its release's version
  const nameOf = (sha256: string) => paths.get(sha256) ?? `file ${sha256.slice(0, 12)}…`;
  return {
    learn: (manifest, envelopeSha256) => {
      for (const file of manifest.files) paths.set(file.sha256, file.path);
      if (envelopeSha256) envelopes.set(envelopeSha256, manifest.version);
    },
    describe: ({ path, status, bytes }) => {
      const [, , folder = "", name = ""] = path.split("/");
      if (status === 404) return { kind: "missing", what: `${path}: not on the site (404)`, bytes };
      if (folder === "channels") {
        const [, base = name, extension = "json"] = /^(.*)\.([^.]+)$/.exec(name) ?? [];
        const channel = `channel "${base}"`;
        if (status === 304)
          return { kind: "channel", what: `${channel}: unchanged since the last check`, bytes };
        const pointer = site && join(site, path.replace(/\.[^./]+$/, ".json"));
        const format = ANSWER_FORMATS.find((f) => f === extension);
        if (format && pointer && existsSync(pointer)) {
          const data = readFileSync(pointer);
          if (bytes > answerPointer(data, format).length) {
            const { version } = parsePointerEnvelope(data).signed;
            const what = `${channel} pointer and release ${version} update pack (signed manifest and changed files)`;
            return { kind: "pack", what, bytes };
          }
        }
        return { kind: "channel", what: `${channel} pointer`, bytes };
      }
      if (folder === "releases")
        return { kind: "release", what: `release ${name.replace(/\.json$/, "")} manifest (signed)`, bytes };
      if (folder === "patches") {
        const to = name.replace(/\.fz$/, "").split("-")[1] ?? "";
        const version = envelopes.get(to);
        if (version !== undefined)
          return { kind: "release", what: `release ${version} manifest (signed), as a delta patch`, bytes };
        return { kind: "patch", what: `${nameOf(to)} (delta patch)`, bytes };
      }
      if (folder === "packs") {
        const { to } = packNameParts(name); // the first 16 hex digits of the envelope's sha256
        const version = [...envelopes].find(([sha256]) => sha256.startsWith(to))?.[1];
        const release = version !== undefined ? `release ${version}` : "a release";
        return { kind: "pack", what: `${release} update pack (signed manifest and changed files)`, bytes };
      }
      if (folder === "blobs")
        return { kind: "blob", what: `${nameOf(name.replace(/\.z$/, ""))} (whole file)`, bytes };
      return { kind: "missing", what: path, bytes };
    },
  };
}
