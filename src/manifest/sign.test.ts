import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical.ts";
import {
  channelPointer,
  envelopeBytes,
  parseEnvelope,
  parsePointerEnvelope,
  parseReleaseEnvelope,
} from "./envelope.ts";
import { ManifestError, SignatureError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import {
  generateKeyPair,
  keyFileWarning,
  keyIdOf,
  loadPrivateKey,
  parsePrivateKey,
  privateKeyPem,
  publicKeyHexOf,
} from "./keys.ts";
import { signEnvelope, verifyEnvelope } from "./sign.ts";

// RFC 8032 test vector 1: secret key and its public key.
const RFC_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const PKCS8_ED25519 = "302e020100300506032b657004220420";
const rfcPem = () =>
  `-----BEGIN PRIVATE KEY-----\n${Buffer.from(PKCS8_ED25519 + RFC_SECRET, "hex").toString("base64")}\n-----END PRIVATE KEY-----\n`;

const H = (c: string) => c.repeat(64);
const manifest = () => ({
  format: 1 as const,
  project: "greenhouse",
  version: "1.1.0",
  created: "2026-11-23T06:00:00Z",
  files: [
    { path: "lib/util.py", size: 812, sha256: H("a"), blobs: { zlib: 400 } },
    { path: "main.py", size: 1203, sha256: H("b"), blobs: { zlib: 600, patches: [] } },
  ],
});

describe("keys", () => {
  it("derives the raw public key and key id of the RFC 8032 vector", () => {
    const key = parsePrivateKey(rfcPem());
    expect(key.publicKeyHex).toBe(RFC_PUBLIC);
    expect(publicKeyHexOf(key.privateKey)).toBe(RFC_PUBLIC);
    expect(key.keyId).toBe(sha256Hex(Buffer.from(RFC_PUBLIC, "hex")).slice(0, 16));
    expect(keyIdOf(RFC_PUBLIC)).toBe(key.keyId);
  });

  it("round-trips a generated key through its PEM file", () => {
    const dir = mkdtempSync(join(tmpdir(), "mpota-keys-"));
    const key = generateKeyPair();
    expect(key.publicKeyHex).toMatch(/^[0-9a-f]{64}$/);
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    const file = join(dir, "release.key");
    writeFileSync(file, privateKeyPem(key), { mode: 0o600 });
    const loaded = loadPrivateKey(file);
    expect(loaded.publicKeyHex).toBe(key.publicKeyHex);
    expect(loaded.keyId).toBe(key.keyId);
    expect(keyFileWarning(file)).toBe(undefined);
    chmodSync(file, 0o644);
    expect(keyFileWarning(file)).toBe(
      `key file ${file} can be read by others (mode 0644); run: chmod 600 ${file}`,
    );
  });

  it("says clearly why a key cannot be used", () => {
    const dir = mkdtempSync(join(tmpdir(), "mpota-keys-"));
    expect(() => loadPrivateKey(join(dir, "missing.key"))).toThrow(
      `key file ${join(dir, "missing.key")} cannot be read (ENOENT)`,
    );
    writeFileSync(join(dir, "junk.key"), "hello");
    expect(() => loadPrivateKey(join(dir, "junk.key"))).toThrow(
      `key file ${join(dir, "junk.key")} is not a PEM private key (make one with \`npx mpota keygen --out FILE\`)`,
    );
    expect(() => loadPrivateKey(dir)).toThrow(SignatureError);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      format: "pem",
      type: "pkcs8",
    });
    expect(() => parsePrivateKey(ec, "key file ec.key")).toThrow("key file ec.key is a ec key, not Ed25519");
    expect(() => keyIdOf("ABC")).toThrow('public key "ABC" is not 64 lowercase hex characters');
  });
});

describe("envelopes", () => {
  it("writes the exact wire layout, signatures first (golden bytes with the RFC 8032 key)", () => {
    const envelope = signEnvelope(manifest(), parsePrivateKey(rfcPem()));
    const bytes = envelopeBytes(envelope).toString();
    const signed = canonicalJson(manifest());
    const sigs = `[{"keyid":"${keyIdOf(RFC_PUBLIC)}","sig":"${envelope.signatures[0]?.sig}"}]`;
    expect(bytes).toBe(`{"signatures":${sigs},"signed":\n${signed}\n}\n`);
    // Ed25519 is deterministic: the same key and bytes always give this signature.
    expect(sha256Hex(bytes)).toBe("1ec3f8a1cbe811f9c7d149273cb815ab85b1c56f061d17f14a7fdbdf825a9f91");
    expect(JSON.parse(bytes)).toEqual(envelope);
  });

  it("round-trips a release envelope, and verifies it", () => {
    const key = generateKeyPair();
    const bytes = envelopeBytes(signEnvelope(manifest(), key));
    const parsed = parseReleaseEnvelope(bytes);
    expect(parsed.signed).toEqual(manifest());
    expect(verifyEnvelope(parsed, [key.publicKeyHex])).toEqual([key.keyId]);
    expect(envelopeBytes(parsed)).toEqual(bytes);
    // Any JSON layout is read the same (a server re-serializes uploads).
    expect(parseReleaseEnvelope(JSON.stringify(parsed, null, 2))).toEqual(parsed);
  });

  it("detects tampering with any signed field", () => {
    const key = generateKeyPair();
    const envelope = signEnvelope(manifest(), key);
    const tampered = [
      (m: ReturnType<typeof manifest>) => {
        m.version = "1.1.1";
      },
      (m: ReturnType<typeof manifest>) => {
        m.files[1]!.sha256 = H("c");
      },
      (m: ReturnType<typeof manifest>) => {
        m.files[0]!.size += 1;
      },
      (m: ReturnType<typeof manifest>) => {
        m.files.pop();
      },
      (m: ReturnType<typeof manifest>) => {
        Object.assign(m, { rollback: true });
      },
    ];
    for (const change of tampered) {
      const signed = manifest();
      change(signed);
      expect(() => verifyEnvelope({ signed, signatures: envelope.signatures }, [key.publicKeyHex])).toThrow(
        `the signature by key ${key.keyId} does not match (the envelope was changed, or signed by another key)`,
      );
    }
    const bytes = envelopeBytes(envelope).toString();
    const flipped = bytes.replace('"size":812', '"size":813');
    expect(() => verifyEnvelope(parseReleaseEnvelope(flipped), [key.publicKeyHex])).toThrow(SignatureError);
    const badSig = { ...envelope, signatures: [{ keyid: key.keyId, sig: "0".repeat(128) }] };
    expect(() => verifyEnvelope(badSig, [key.publicKeyHex])).toThrow("does not match");
  });

  it("refuses unsigned envelopes and untrusted keys", () => {
    const key = generateKeyPair();
    const other = generateKeyPair();
    expect(() => verifyEnvelope({ signed: manifest(), signatures: [] }, [key.publicKeyHex])).toThrow(
      "the envelope is not signed",
    );
    expect(() => verifyEnvelope(signEnvelope(manifest(), other), [key.publicKeyHex])).toThrow(
      `the envelope is signed by key ${other.keyId}, which is not a trusted key`,
    );
    expect(() => verifyEnvelope(signEnvelope(manifest(), other), [])).toThrow("not a trusted key");
  });

  it("counts distinct trusted keys against a threshold", () => {
    const [a, b, c] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
    const trusted = [a.publicKeyHex, b.publicKeyHex, c.publicKeyHex];
    const one = signEnvelope(manifest(), a);
    expect(() => verifyEnvelope(one, trusted, 2)).toThrow(
      "the envelope has 1 valid signature(s) by trusted keys, 2 are needed",
    );
    // Adding the same key again does not count twice; a second person's key does.
    expect(signEnvelope(one.signed, a, one.signatures).signatures).toHaveLength(1);
    const twice = { ...one, signatures: [...one.signatures, ...one.signatures] };
    expect(() => verifyEnvelope(twice, trusted, 2)).toThrow("1 valid signature(s)");
    const two = signEnvelope(one.signed, [b], one.signatures);
    expect(verifyEnvelope(two, trusted, 2).sort()).toEqual([a.keyId, b.keyId].sort());
    // A valid signature by another trusted key outweighs a broken one when the threshold is met.
    const broken = { ...two, signatures: [{ keyid: c.keyId, sig: "1".repeat(128) }, ...two.signatures] };
    expect(verifyEnvelope(broken, trusted, 2)).toHaveLength(2);
  });

  it("makes and reads no envelope with more than 4 signatures (a board tries only 4)", () => {
    const keys = Array.from({ length: 5 }, () => generateKeyPair());
    const four = signEnvelope(manifest(), keys.slice(0, 4));
    expect(parseEnvelope(envelopeBytes(four)).signatures).toHaveLength(4);
    expect(() => signEnvelope(four.signed, keys[4]!, four.signatures)).toThrow(
      new SignatureError("an envelope carries at most 4 signatures (a board tries no more)"),
    );
    const five = { ...four, signatures: [...four.signatures, four.signatures[0]!] };
    expect(() => parseEnvelope(JSON.stringify(five))).toThrow(
      "envelope: signatures: has more than 4 entries",
    );
  });

  it("names what is wrong with a malformed envelope", () => {
    expect(() => parseEnvelope("{")).toThrow(/^envelope: not valid JSON \(/);
    expect(() => parseEnvelope('{"signed":{}}')).toThrow("envelope: signatures: missing");
    expect(() => parseEnvelope('{"signed":[],"signatures":[]}')).toThrow(
      "envelope: signed: must be an object",
    );
    expect(() => parseEnvelope('{"signed":{},"signatures":[{"keyid":"x","sig":"y"}],"extra":1}')).toThrow(
      ManifestError,
    );
    try {
      parseEnvelope('{"signed":{},"signatures":[{"keyid":"x"}],"extra":1}');
    } catch (err) {
      expect((err as ManifestError).problems).toEqual([
        "envelope: extra: unknown field",
        "envelope: signatures[0].sig: missing",
        'envelope: signatures[0].keyid: must be 16 lowercase hex characters, not "x"',
      ]);
    }
    const bad = envelopeBytes({ signed: { ...manifest(), files: [{ path: "../x" }] }, signatures: [] });
    expect(() => parseReleaseEnvelope(bad)).toThrow("signed.files[0].size: missing");
  });

  it("makes and reads a channel pointer to a release envelope", () => {
    const key = generateKeyPair();
    const release = envelopeBytes(signEnvelope(manifest(), key));
    const signed = channelPointer({
      channel: "stable",
      project: "greenhouse",
      version: "1.1.0",
      envelope: release,
      expires: "2026-12-23T00:00:00Z",
    });
    expect(signed).toEqual({
      channel: "stable",
      project: "greenhouse",
      release: "releases/1.1.0.json",
      sha256: sha256Hex(release),
      size: release.length,
      version: "1.1.0",
      expires: "2026-12-23T00:00:00Z",
    });
    const bytes = envelopeBytes(signEnvelope(signed, key));
    expect(bytes.toString().split("\n")).toHaveLength(4); // line 1, signed line, "}", ""
    const parsed = parsePointerEnvelope(bytes);
    expect(verifyEnvelope(parsed, [key.publicKeyHex])).toEqual([key.keyId]);
    const unsigned = envelopeBytes({ signed, signatures: [] });
    expect(unsigned.toString()).toBe(`{"signatures":[],"signed":\n${canonicalJson(signed)}\n}\n`);
    expect(() => channelPointer({ channel: "x", project: "P", version: "1", envelope: release })).toThrow(
      ManifestError,
    );
  });
});
