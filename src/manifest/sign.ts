/** Ed25519 signatures over the canonical bytes of an envelope's signed object. */
import { sign, verify } from "node:crypto";
import { SIGNATURE_PATTERN } from "../rules/hex.ts";
import { MAX_SIGNATURES } from "../rules/limits.ts";
import { canonicalBytes } from "./canonical.ts";
import { SignatureError } from "./errors.ts";
import { keyIdOf, publicKeyFromHex, type SigningKey } from "./keys.ts";
import type { Envelope, Signature } from "./schema.ts";

const SIGNATURE = new RegExp(SIGNATURE_PATTERN);

/**
 * An envelope of `signed` with a signature by each of `keys`, after `signatures` already made
 * (by other people, for a threshold); a key that already signed is not added twice. SignatureError
 * past MAX_SIGNATURES.
 */
export function signEnvelope<T>(
  signed: T,
  keys: SigningKey | readonly SigningKey[],
  signatures: readonly Signature[] = [],
): Envelope<T> {
  const message = canonicalBytes(signed);
  const out = [...signatures];
  for (const key of Array.isArray(keys) ? keys : [keys]) {
    if (out.some((s) => s.keyid === key.keyId)) continue;
    if (out.length >= MAX_SIGNATURES)
      throw new SignatureError(
        `an envelope carries at most ${MAX_SIGNATURES} signatures (a board tries no more)`,
      );
    out.push({ keyid: key.keyId, sig: sign(null, message, key.privateKey).toString("hex") });
  }
  return { signed, signatures: out };
}

/**
 * Checks that at least `threshold` of the `trusted` public keys (raw hex) made a valid signature of
 * `envelope`; returns their key ids. SignatureError saying what is missing or wrong otherwise.
 */
export function verifyEnvelope(envelope: Envelope, trusted: Iterable<string>, threshold = 1): string[] {
  const keys = new Map<string, string>();
  for (const publicKeyHex of trusted) keys.set(keyIdOf(publicKeyHex), publicKeyHex);
  if (envelope.signatures.length === 0) throw new SignatureError("the envelope is not signed");
  const message = canonicalBytes(envelope.signed);
  const valid = new Set<string>();
  const failed: string[] = [];
  for (const { keyid, sig } of envelope.signatures) {
    const publicKeyHex = keys.get(keyid);
    if (publicKeyHex === undefined || valid.has(keyid)) continue;
    const ok =
      SIGNATURE.test(sig) && verify(null, message, publicKeyFromHex(publicKeyHex), Buffer.from(sig, "hex"));
    if (ok) valid.add(keyid);
    else failed.push(keyid);
  }
  if (valid.size >= threshold) return [...valid];
  if (failed.length > 0)
    throw new SignatureError(
      `the signature by key ${failed.join(", ")} does not match (the envelope was changed, or signed by another key)`,
    );
  const ids = envelope.signatures.map((s) => s.keyid).join(", ");
  if (valid.size === 0)
    throw new SignatureError(`the envelope is signed by key ${ids}, which is not a trusted key`);
  throw new SignatureError(
    `the envelope has ${valid.size} valid signature(s) by trusted keys, ${threshold} are needed`,
  );
}
