import { createHash } from "node:crypto";

/** SHA-256 of `data`, lowercase hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The Git blob SHA-1 of a file's bytes: `sha1("blob <size>\0" + data)`, lowercase hex. */
export function gitBlobSha1(data: Uint8Array): string {
  return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}
