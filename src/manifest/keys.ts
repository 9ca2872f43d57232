/**
 * Ed25519 keys (node:crypto): a private key lives in a PKCS#8 PEM file with the person who builds
 * releases; a public key travels as its raw 32 bytes in hex; a key id is the first 16 hex chars of
 * SHA-256 of those bytes.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { isHex64 } from "../rules/hex.ts";
import { SignatureError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";

export interface SigningKey {
  privateKey: KeyObject;
  /** Raw 32-byte public key, lowercase hex. */
  publicKeyHex: string;
  keyId: string;
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw key follows it. */
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

/** The raw public key (hex) of an Ed25519 private or public key. */
export function publicKeyHexOf(key: KeyObject): string {
  if (key.asymmetricKeyType !== "ed25519")
    throw new SignatureError(`not an Ed25519 key (it is ${key.asymmetricKeyType ?? key.type})`);
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return spki.subarray(SPKI_ED25519.length).toString("hex");
}

/** A node:crypto public key from its raw 32 bytes in hex. */
export function publicKeyFromHex(publicKeyHex: string): KeyObject {
  if (!isHex64(publicKeyHex))
    throw new SignatureError(`public key ${JSON.stringify(publicKeyHex)} is not 64 lowercase hex characters`);
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519, Buffer.from(publicKeyHex, "hex")]),
    format: "der",
    type: "spki",
  });
}

/** Key id: the first 16 hex chars of SHA-256 of the raw 32-byte public key. */
export function keyIdOf(publicKeyHex: string): string {
  if (!isHex64(publicKeyHex))
    throw new SignatureError(`public key ${JSON.stringify(publicKeyHex)} is not 64 lowercase hex characters`);
  return sha256Hex(Buffer.from(publicKeyHex, "hex")).slice(0, 16);
}

function signingKey(privateKey: KeyObject): SigningKey {
  const publicKeyHex = publicKeyHexOf(privateKey);
  return { privateKey, publicKeyHex, keyId: keyIdOf(publicKeyHex) };
}

/** A fresh Ed25519 key pair. */
export function generateKeyPair(): SigningKey {
  return signingKey(generateKeyPairSync("ed25519").privateKey);
}

/** The private key as a PKCS#8 PEM text (the key file format). */
export function privateKeyPem(key: SigningKey): string {
  return key.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
}

/** A signing key from PEM text; `source` names where it came from in messages. */
export function parsePrivateKey(pem: string | Buffer, source = "the key"): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new SignatureError(
      `${source} is not a PEM private key (make one with \`npx mpota keygen --out FILE\`)`,
    );
  }
  if (privateKey.asymmetricKeyType !== "ed25519")
    throw new SignatureError(`${source} is a ${privateKey.asymmetricKeyType} key, not Ed25519`);
  return signingKey(privateKey);
}

/** Reads a private key file written by `mpota keygen`. */
export function loadPrivateKey(file: string): SigningKey {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new SignatureError(`key file ${file} cannot be read (${code})`);
  }
  return parsePrivateKey(pem, `key file ${file}`);
}

/** A warning when others than the owner may read the key file (it should be 0600), else undefined. */
export function keyFileWarning(file: string): string | undefined {
  if (process.platform === "win32") return undefined;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `key file ${file} can be read by others (mode ${mode.toString(8).padStart(4, "0")}); run: chmod 600 ${file}`;
}
