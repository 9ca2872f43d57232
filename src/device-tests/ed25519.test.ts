/** The device's pure-MicroPython SHA-512 and Ed25519 verification, against node:crypto. */
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";

const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, pub: publicKey.export({ format: "der", type: "spki" }).subarray(-32) };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function leToBig(b: Uint8Array): bigint {
  return BigInt(`0x${hex(Buffer.from(b).reverse()) || "0"}`);
}

function bigToLe(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(64, "0"), "hex").reverse();
}

describe("sha512 (pure MicroPython)", () => {
  it("matches node:crypto at every padding boundary, fed in one piece or in odd chunks", async () => {
    const lengths = [0, 1, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 1000, 4099];
    const script = `
import json
from mpota.sha512 import sha512
out = []
for n in ${JSON.stringify(lengths)}:
    data = bytes((i * 7 + 3) & 255 for i in range(n))
    whole = sha512(data).digest()
    h = sha512()
    i = 0
    step = 1
    while i < n:
        h.update(data[i:i + step])
        i += step
        step = step * 3 % 200 + 1
    out.append([whole.hex(), h.digest().hex()])
print(json.dumps(out))
`;
    const { value } = await runDeviceScript(script);
    const expected = lengths.map((n) => {
      const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255));
      const d = createHash("sha512").update(data).digest("hex");
      return [d, d];
    });
    expect(value).toEqual(expected);
  });
});

describe("ed25519 verify (pure MicroPython)", () => {
  it("accepts signatures made by node:crypto and refuses every altered one", async () => {
    const a = keyPair();
    const b = keyPair();
    const msg = Buffer.from('{"created":"2026-11-23T06:00:00Z","files":[\n],"format":1}');
    const sig = sign(null, msg, a.privateKey);
    const empty = sign(null, Buffer.alloc(0), a.privateKey);
    const flipped = Buffer.from(sig);
    flipped[5]! ^= 1;
    // S + L verifies mathematically but is not canonical: RFC 8032 says refuse it.
    const sPlusL = Buffer.concat([sig.subarray(0, 32), bigToLe(leToBig(sig.subarray(32)) + L)]);
    const badPoint = Buffer.alloc(32, 0xff); // y >= p: not a point encoding
    const cases: Array<[string, Buffer, Buffer, Buffer, boolean]> = [
      ["valid", a.pub, sig, msg, true],
      ["valid, empty message", a.pub, empty, Buffer.alloc(0), true],
      ["other key", b.pub, sig, msg, false],
      ["message changed", a.pub, sig, Buffer.concat([msg, Buffer.from(" ")]), false],
      ["R changed", a.pub, flipped, msg, false],
      ["S not canonical", a.pub, sPlusL, msg, false],
      ["key not a point", badPoint, sig, msg, false],
      ["signature too short", a.pub, sig.subarray(0, 63), msg, false],
    ];
    const script = `
import json, binascii
from mpota import ed25519
u = binascii.unhexlify
cases = ${JSON.stringify(cases.map(([name, pub, s, m]) => [name, hex(pub), hex(s), hex(m)]))}
print(json.dumps([[name, ed25519.verify(u(p), u(s), u(m))] for name, p, s, m in cases]))
`;
    const { value } = await runDeviceScript(script);
    expect(value).toEqual(cases.map(([name, , , , ok]) => [name, ok]));
  });

  it("passes the RFC 8032 test vectors", async () => {
    // RFC 8032 §7.1 tests 1, 2 and 3.
    const vectors = [
      [
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
      ],
      [
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
      ],
      [
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
      ],
    ];
    const script = `
import json, binascii
from mpota import ed25519
u = binascii.unhexlify
print(json.dumps([ed25519.verify(u(p), u(s), u(m)) for p, m, s in ${JSON.stringify(vectors)}]))
`;
    const { value } = await runDeviceScript(script);
    expect(value).toEqual([true, true, true]);
  });
});
