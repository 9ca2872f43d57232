/**
 * The device's state record (/.mpota/state.a and state.b), as device/boot.py reads and writes it:
 * each copy is `<crc32 of the JSON, 8 hex> <JSON>\n`; the newest valid copy (highest `seq`) wins.
 * `mpota device bundle` writes the first one; tests read it back from a virtual device's flash.
 */
import { crc32 } from "node:zlib";

export interface StateRecord {
  seq: number;
  /** The slot the loader runs. */
  slot: 0 | 1;
  /** "trial" until the app calls mpota.confirm(); the loader falls back when a trial fails. */
  state: "good" | "trial";
  /** Trial boots started so far. */
  boots: number;
  /** The release version each slot holds; null = nothing usable (empty or being written). */
  versions: [string | null, string | null];
  /** The last version the device left because it failed (or was rolled back); not offered again. */
  failed: string | null;
  /** Why the device last fell back to the previous release. */
  why: string | null;
  /** A file of the active release to run once at the next boot (post_update or rollback hook). */
  hook: string | null;
  /** The rollback hook of the release on trial/running (absolute path in its slot), run once after the device goes back from it. */
  back_hook: string | null;
  /** Ids (16 hex characters of the SHA-256 of the version) of the failed releases before `failed`, at most 8. */
  failed_ids?: string[];
  /** Trial settings copied from ota_config.json at install time (the loader never reads the config). */
  max_boots?: number;
  wdt_ms?: number;
  auto_s?: number;
}

export const STATE_COPIES = [".mpota/state.a", ".mpota/state.b"] as const;

export function encodeStateRecord(record: StateRecord): Uint8Array {
  const body = Buffer.from(JSON.stringify(record));
  const crc = crc32(body).toString(16).padStart(8, "0");
  return Buffer.concat([Buffer.from(`${crc} `), body, Buffer.from("\n")]);
}

/** One copy's record, or undefined when the copy is torn, corrupt or not a state record. */
export function decodeStateRecord(bytes: Uint8Array | undefined): StateRecord | undefined {
  if (!bytes || bytes.length < 11) return undefined;
  const raw = Buffer.from(bytes);
  const body = raw.subarray(9, raw.length - 1);
  if (raw[8] !== 0x20 || raw[raw.length - 1] !== 0x0a) return undefined;
  if (Number.parseInt(raw.subarray(0, 8).toString(), 16) !== crc32(body)) return undefined;
  try {
    const record = JSON.parse(body.toString()) as StateRecord;
    const valid =
      (record.slot === 0 || record.slot === 1) &&
      (record.state === "good" || record.state === "trial") &&
      Array.isArray(record.versions) &&
      record.versions.length === 2 &&
      Number.isInteger(record.seq);
    return valid ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The record the loader would act on: the newest valid of the two copies in a flash tree. */
export function currentState(files: Record<string, Uint8Array>): StateRecord | undefined {
  let best: StateRecord | undefined;
  for (const path of STATE_COPIES) {
    const record = decodeStateRecord(files[path]);
    if (record && (!best || record.seq > best.seq)) best = record;
  }
  return best;
}

/** The record of a board that runs `version` from slot 0 and has never updated. */
export function firstStateRecord(version: string): StateRecord {
  return {
    seq: 1,
    slot: 0,
    state: "good",
    boots: 0,
    versions: [version, null],
    failed: null,
    why: null,
    hook: null,
    back_hook: null,
  };
}
