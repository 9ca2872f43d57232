/**
 * Helpers for tests and benchmarks of the device client: the device files as flash trees, and runs of
 * device code on a virtual board.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { VirtualDevice } from "../sim/index.ts";

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
