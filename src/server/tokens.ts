/**
 * Bearer tokens: 32 random bytes, base64url, with a prefix saying what they open. Only their SHA-256
 * is stored; a token has 256 bits of entropy, so a plain hash is enough (no password stretching).
 */
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../manifest/index.ts";

export type TokenKind = "device" | "admin" | "enrolment";

const PREFIX: Record<TokenKind, string> = { device: "mpd_", admin: "mpa_", enrolment: "mpe_" };

export function newToken(kind: TokenKind): { token: string; hash: string } {
  const token = PREFIX[kind] + randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return sha256Hex(token);
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}
