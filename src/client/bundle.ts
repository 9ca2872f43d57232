/**
 * What a board needs before its first update (`mpota device bundle`): the loader /boot.py, the config
 * /ota_config.json, a first release installed in slot 0 with its verified envelope beside it
 * (/.mpota/slot0.json), and the first state record. Without a release, slot 0 holds a bootstrap
 * "0.0.0" (the mpota package and a main.py that installs the channel's release at first boot).
 */
import { createHash, createPublicKey, verify } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inflateSync } from "node:zlib";
import { encodeStateRecord, firstStateRecord, STATE_COPIES } from "./state-record.ts";

export interface ReleaseSource {
  /** The release envelope exactly as stored (releases/<version>.json). */
  envelope: Uint8Array;
  /** A blob (blobs/<sha256>.z) by the SHA-256 of the file it holds. */
  blob: (sha256: string) => Uint8Array;
}

interface FileEntry {
  path: string;
  size: number;
  sha256: string;
}

export const BOOTSTRAP_VERSION = "0.0.0";
export const DEVICE_DIR = fileURLToPath(new URL("../../device/", import.meta.url));

/** The loader, as /boot.py. */
export function loaderSource(): Uint8Array {
  return readFileSync(`${DEVICE_DIR}boot.py`);
}

/** The device package device/mpota/*.py as a tree under `prefix` (where a release carries it). */
export function mpotaPackage(prefix = "lib/mpota/"): Record<string, Uint8Array> {
  const tree: Record<string, Uint8Array> = {};
  for (const name of readdirSync(`${DEVICE_DIR}mpota`).sort())
    if (name.endsWith(".py")) tree[prefix + name] = readFileSync(`${DEVICE_DIR}mpota/${name}`);
  return tree;
}

const BOOTSTRAP_MAIN = `# mpota bootstrap: no release is installed yet; fetch the channel's release and reset into it.
import mpota
print("mpota: no release installed yet, installing the first one")
print("mpota:", mpota.update())
`;

/** The signed manifest of an envelope, after checking a signature by one of `keys` (raw hex). */
export function verifiedManifest(envelope: Uint8Array, keys: string[]): Record<string, unknown> {
  const text = Buffer.from(envelope);
  const first = text.indexOf(0x0a);
  if (first < 0 || !text.subarray(text.length - 3).equals(Buffer.from("\n}\n")))
    throw new Error("the release envelope is not in the layout of docs/protocol.md");
  const signed = text.subarray(first + 1, text.length - 3);
  const { signatures } = JSON.parse(text.toString("utf8")) as {
    signatures: Array<{ keyid: string; sig: string }>;
  };
  const ok = keys.some((hex) => {
    const raw = Buffer.from(hex, "hex");
    const keyid = createHash("sha256").update(raw).digest("hex").slice(0, 16);
    const key = createPublicKey({
      key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]),
      format: "der",
      type: "spki",
    });
    return signatures.some((s) => s.keyid === keyid && verify(null, signed, key, Buffer.from(s.sig, "hex")));
  });
  if (!ok) throw new Error("the release envelope carries no valid signature by a key of the config");
  return JSON.parse(signed.toString("utf8")) as Record<string, unknown>;
}

/**
 * The files of a board ready to run: device paths -> bytes. `mpotaPackage` is the package as
 * lib/mpota/… for the bootstrap slot (default: device/mpota).
 */
export function bundleFiles(options: {
  config: { project: string; keys: string[] };
  configJson: string;
  mpotaPackage?: Record<string, Uint8Array>;
  release?: ReleaseSource;
}): { files: Record<string, Uint8Array>; version: string } {
  const files: Record<string, Uint8Array> = {
    "boot.py": loaderSource(),
    "ota_config.json": Buffer.from(options.configJson),
    "data/": new Uint8Array(0),
  };
  let version = BOOTSTRAP_VERSION;
  if (options.release) {
    const manifest = verifiedManifest(options.release.envelope, options.config.keys);
    if (manifest.project !== options.config.project)
      throw new Error(
        `the release is for project "${manifest.project}", the config for "${options.config.project}"`,
      );
    version = String(manifest.version);
    for (const entry of manifest.files as FileEntry[]) {
      const data = inflateSync(options.release.blob(entry.sha256));
      if (data.length !== entry.size || createHash("sha256").update(data).digest("hex") !== entry.sha256)
        throw new Error(`blob of ${entry.path} does not match the manifest`);
      files[`.mpota/slot0/${entry.path}`] = data;
    }
    files[".mpota/slot0.json"] = options.release.envelope;
  } else {
    for (const [path, data] of Object.entries(options.mpotaPackage ?? mpotaPackage()))
      files[`.mpota/slot0/${path}`] = data;
    files[".mpota/slot0/main.py"] = Buffer.from(BOOTSTRAP_MAIN);
  }
  files[STATE_COPIES[0]] = encodeStateRecord(firstStateRecord(version));
  return { files, version };
}
