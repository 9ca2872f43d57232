/**
 * Helpers for tests and benchmarks of the device client: the device files as flash trees, and runs of
 * device code on a virtual board.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { VirtualDevice } from "../sim/index.ts";
import { encodeStateRecord, type StateRecord } from "./state-record.ts";

export const DEVICE_DIR = fileURLToPath(new URL("../../device/", import.meta.url));

/** The loader, as /boot.py. */
export function loaderSource(): Uint8Array {
  return readFileSync(`${DEVICE_DIR}boot.py`);
}

/** The device package device/mpota/*.py as a flash tree under `prefix` (as a release carries it). */
export function devicePackage(prefix = "lib/mpota/"): Record<string, Uint8Array> {
  const tree: Record<string, Uint8Array> = {};
  for (const name of readdirSync(`${DEVICE_DIR}mpota`).sort()) {
    if (name.endsWith(".py")) tree[prefix + name] = readFileSync(`${DEVICE_DIR}mpota/${name}`);
  }
  return tree;
}

/**
 * Runs `script` on a board whose flash holds only the mpota package (in /lib, on sys.path) plus `files`;
 * the script's last printed line is parsed as JSON. For testing device modules on their own.
 */
export async function runDeviceScript(
  script: string,
  files: Record<string, Uint8Array | string> = {},
): Promise<{ value: unknown; output: string }> {
  const device = new VirtualDevice({ files: { ...devicePackage(), ...files }, net: false });
  try {
    const result = await device.run({ script, boot: false, timeoutMs: 30_000 });
    if (!result.ok) throw new Error(`device script failed: ${result.error}\n${result.output}`);
    const lines = result.output.trim().split("\n");
    return { value: JSON.parse(lines[lines.length - 1]!), output: result.output };
  } finally {
    await device.close();
  }
}

type Tree = Record<string, Uint8Array | string>;

/** An app release tree: main.py (`main`), the mpota package in lib/mpota/, and `extra` files. */
export function appTree(main: string, extra: Tree = {}): Record<string, Uint8Array> {
  const tree: Record<string, Uint8Array> = { ...devicePackage(), "main.py": Buffer.from(main) };
  for (const [path, data] of Object.entries(extra))
    tree[path] = typeof data === "string" ? Buffer.from(data) : data;
  return tree;
}

/** A board's flash: the loader, the config, the slots' trees and a state record. */
export function boardTree(options: {
  slots: [Tree | null, Tree | null];
  record: StateRecord;
  config?: unknown;
  files?: Tree;
}): Tree {
  const tree: Tree = { "boot.py": loaderSource(), ...options.files };
  if (options.config !== undefined) tree["ota_config.json"] = JSON.stringify(options.config);
  options.slots.forEach((slot, i) => {
    for (const [path, data] of Object.entries(slot ?? {})) tree[`.mpota/slot${i}/${path}`] = data;
  });
  tree[".mpota/state.a"] = encodeStateRecord(options.record);
  return tree;
}

/** The files of one slot in a flash tree, by their path inside the slot. */
export function slotTree(files: Record<string, Uint8Array>, slot: 0 | 1): Record<string, Uint8Array> {
  const prefix = `.mpota/slot${slot}/`;
  const out: Record<string, Uint8Array> = {};
  for (const [path, data] of Object.entries(files)) {
    if (path.startsWith(prefix) && !path.endsWith("/")) out[path.slice(prefix.length)] = data;
  }
  return out;
}

/** The same files with the same bytes (trees as `slotTree` returns them). */
export function sameTree(a: Record<string, Uint8Array>, b: Record<string, Uint8Array | string>): boolean {
  const keys = Object.keys(a).sort();
  if (keys.join("\n") !== Object.keys(b).sort().join("\n")) return false;
  return keys.every((k) => Buffer.from(a[k]!).equals(Buffer.from(b[k]!)));
}
