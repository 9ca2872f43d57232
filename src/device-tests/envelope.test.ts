/**
 * device/mpota/envelope.py on the virtual device: release envelopes on flash and channel pointers,
 * signed with node:crypto in the layout of docs/protocol.md; every malformed or hostile one is refused
 * with a message that says why.
 */
import { createHash, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import { answerPointer } from "../delta/index.ts";
import {
  canonicalBytes,
  canonicalJson,
  envelopeBytes,
  generateKeyPair,
  type SigningKey,
  signEnvelope,
} from "../manifest/index.ts";

const key = generateKeyPair();
const stranger = generateKeyPair();

/** The envelope of `signed` as src/manifest writes it; `tamper` edits the signed bytes after signing. */
function envelope(signed: unknown, keys: SigningKey[] = [key], tamper?: (s: string) => string): Buffer {
  const bytes = envelopeBytes(signEnvelope(signed, keys));
  if (!tamper) return bytes;
  const text = bytes.toString();
  const start = text.indexOf("\n") + 1;
  return Buffer.from(text.slice(0, start) + tamper(text.slice(start, -3)) + text.slice(-3));
}

/** A validly signed envelope over signed bytes that canonical JSON cannot produce (`edit` of them). */
function oddEnvelope(signed: unknown, edit: (s: string) => string): Buffer {
  const bytes = Buffer.from(edit(canonicalBytes(signed).toString()));
  const sigs = [{ keyid: key.keyId, sig: sign(null, bytes, key.privateKey).toString("hex") }];
  return Buffer.from(`{"signatures":${canonicalJson(sigs)},"signed":\n${bytes}\n}\n`);
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

function entry(path: string, size = 10, extra: Record<string, unknown> = {}) {
  return { blobs: { patches: [], zlib: 18 }, path, sha256: sha(path), size, ...extra };
}

function manifest(files: unknown[], extra: Record<string, unknown> = {}) {
  return {
    created: "2026-11-23T06:00:00Z",
    files,
    format: 1,
    project: "greenhouse",
    version: "1.1.0",
    ...extra,
  };
}

const good = manifest([entry("lib/a.py"), entry("lib/b.py"), entry("main.py", 0)], {
  hooks: { post_update: "main.py" },
});

/** envelope.verify on each named file; -> {name: header or {error, message}}. */
async function verifyAll(files: Record<string, Buffer>, keys = [key.publicKeyHex], project = "greenhouse") {
  const flash: Record<string, Buffer> = {};
  for (const [name, data] of Object.entries(files)) flash[`e/${name}`] = data;
  const script = `
import json, os
from mpota import envelope
from mpota.errors import UpdateError
out = {}
for name in sorted(os.listdir("/e")):
    try:
        out[name] = envelope.verify("/e/" + name, ${JSON.stringify(keys)}, "${project}")
    except UpdateError as e:
        out[name] = {"error": e.code, "message": e.message}
print(json.dumps(out))
`;
  return (await runDeviceScript(script, flash)).value as Record<string, Record<string, unknown>>;
}

describe("envelope.verify", () => {
  it("returns the header of a good envelope and lists its files line by line", async () => {
    const script = `
import json
from mpota import envelope
h = envelope.verify("/e.json", ["${stranger.publicKeyHex}", "${key.publicKeyHex}"], "greenhouse")
print(json.dumps([h, envelope.header("/e.json"), [e["path"] for e in envelope.files("/e.json")]]))
`;
    // Signed by a key the board does not know and by one it does: the trusted one counts.
    const { value } = await runDeviceScript(script, { "e.json": envelope(good, [stranger, key]) });
    const header = {
      created: "2026-11-23T06:00:00Z",
      format: 1,
      hooks: { post_update: "main.py" },
      project: "greenhouse",
      version: "1.1.0",
    };
    expect(value).toEqual([header, header, ["lib/a.py", "lib/b.py", "main.py"]]);
  });

  it("refuses unsigned, wrongly signed and tampered envelopes", async () => {
    const results = await verifyAll({
      unsigned: envelope(good, []),
      stranger: envelope(good, [stranger]),
      tampered: envelope(good, [key], (s) => s.replace('"size":10', '"size":11')),
      truncated: envelope(good).subarray(0, 300),
      trailing: Buffer.concat([envelope(good), Buffer.from("x")]),
      pretty: Buffer.from(JSON.stringify(JSON.parse(envelope(good).toString()), null, 2)),
    });
    expect(results).toEqual({
      unsigned: { error: "signature", message: "the release is not signed" },
      stranger: {
        error: "signature",
        message: `the release is signed by key ${stranger.keyId}, which this board does not trust`,
      },
      tampered: {
        error: "signature",
        message: "the release: the signature does not match (tampered, or the wrong key)",
      },
      truncated: { error: "manifest", message: "the release does not end the way docs/protocol.md says" },
      trailing: { error: "manifest", message: "the release does not end the way docs/protocol.md says" },
      pretty: { error: "manifest", message: "not a signed envelope (docs/protocol.md layout)" },
    });
  });

  it("refuses every bad path, even when signed", async () => {
    const bad: Record<string, unknown[]> = {
      dotdot: [entry("../evil.py")],
      inner_dotdot: [entry("lib/../../evil.py")],
      absolute: [entry("/boot.py")],
      empty_segment: [entry("lib//a.py")],
      dot: [entry("./a.py")],
      backslash: [entry("lib\\a.py")],
      control: [entry("a\u0001.py")],
      long: [entry(`${"x".repeat(253)}.py`)],
      duplicate: [entry("a.py"), entry("a.py")],
      unsorted: [entry("b.py"), entry("a.py")],
      case: [entry("Main.py"), entry("lib/x.py"), entry("main.py")],
      file_and_folder: [entry("lib"), entry("lib/x.py")],
      folder_case: [entry("LIB"), entry("lib/x.py")],
      folder_first: [entry("LIB/x.py"), entry("lib")],
      empty: [entry("")],
    };
    const files: Record<string, Buffer> = {};
    for (const [name, list] of Object.entries(bad)) files[name] = envelope(manifest(list));
    const results = await verifyAll(files);
    const messages = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.message]));
    expect(messages).toEqual({
      dotdot: "bad file path ../evil.py",
      inner_dotdot: "bad file path lib/../../evil.py",
      absolute: "bad file path /boot.py",
      empty_segment: "bad file path lib//a.py",
      dot: "bad file path ./a.py",
      backslash: "bad file path lib\\a.py",
      control: "bad file path a\u0001.py",
      long: `bad file path ${"x".repeat(253)}.py`,
      duplicate: "a.py: paths must be unique and sorted",
      unsorted: "a.py: paths must be unique and sorted",
      case: "main.py: another path differs from it only in case",
      file_and_folder: "lib/x.py: its folder lib is also a file",
      folder_case: "lib/x.py: its folder lib is also a file",
      folder_first: "lib: it is also the name of a folder",
      empty: "bad file path ",
    });
    expect(Object.values(results).every((r) => r.error === "manifest")).toBe(true);
  });

  it("refuses bad sizes, hashes, headers and another project's release", async () => {
    const results = await verifyAll({
      huge: envelope(manifest([entry("a.py", 16 * 1024 * 1024 + 1)])),
      negative: envelope(manifest([entry("a.py", -1)])),
      float: oddEnvelope(manifest([entry("a.py", 1)]), (s) => s.replace('"size":1}', '"size":1.5}')),
      sha: envelope(manifest([{ ...entry("a.py"), sha256: "ABC" }])),
      zlib_bomb_size: envelope(manifest([{ ...entry("a.py"), blobs: { zlib: 1000 } }])),
      no_blobs: envelope(manifest([{ path: "a.py", sha256: sha("a"), size: 1 }])),
      format: envelope(manifest([], { format: 2 })),
      version: envelope(manifest([], { version: "1.1" })),
      project: envelope(manifest([], { project: "Green House" })),
      hooks: envelope(manifest([], { hooks: { post_update: "../x.py" } })),
      rollback: envelope(manifest([], { rollback: 1 })),
      rollback_from_alone: envelope(manifest([], { rollback_from: ["1.2.0"] })),
      rollback_from_bad: envelope(manifest([], { rollback: true, rollback_from: ["1.2"] })),
      long_version: envelope(manifest([], { version: `1.0.0-${"a".repeat(251)}` })),
      other_project: envelope(manifest([], { project: "lighthouse" })),
      long_line: envelope(manifest([entry("a.py", 1, { pad: "x".repeat(5000) })])),
    });
    const messages = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.message]));
    expect(messages).toEqual({
      huge: "a.py: size must be 0 to 16777216 bytes",
      negative: "a.py: size must be 0 to 16777216 bytes",
      float: "a.py: size must be 0 to 16777216 bytes",
      sha: "a.py: bad sha256",
      zlib_bomb_size: "a.py: bad compressed size",
      no_blobs: "a.py: bad compressed size",
      format: "unknown manifest format 2",
      version: "bad version 1.1",
      project: "bad project name",
      hooks: "bad hooks",
      rollback: "rollback must be true or false",
      rollback_from_alone: "bad rollback_from",
      rollback_from_bad: "bad rollback_from",
      long_version: `bad version 1.0.0-${"a".repeat(251)}`,
      other_project: "the release is for project lighthouse, this board runs greenhouse",
      long_line: "a manifest line is longer than 4096 bytes or unterminated",
    });
  });
});

describe("envelope.verify of a big release", () => {
  it("checks 1,500 paths for case and folder collisions in a few passes over the manifest, not one per hash collision", async () => {
    const files = Array.from({ length: 1500 }, (_, i) =>
      entry(`lib/gen${i % 40}/m${String(i).padStart(4, "0")}.py`),
    );
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    const script = `
import json
from mpota import envelope, manifest
opens = [0]
def counting(path, *args):
    opens[0] += path == "/big.json"
    return open(path, *args)
envelope.open = counting
manifest.open = counting  # the header and entry reader
h = envelope.verify("/big.json", ["${key.publicKeyHex}"], "greenhouse")
print(json.dumps([h["version"], opens[0]]))
`;
    // Seconds alone; the time limits only stop a run that has gone wrong (the old check took minutes).
    const { value } = await runDeviceScript(script, { "big.json": envelope(manifest(files)) }, 600_000);
    const [version, opens] = value as [string, number];
    expect(version).toBe("1.1.0");
    // signature, header, order and counts, then (1,500 files + 41 folders) / 1,024 + 1 = 2 rounds.
    expect(opens).toBe(5);
  }, 600_000);
});

describe("envelope.pointer", () => {
  const target = {
    channel: "stable",
    project: "greenhouse",
    release: "releases/1.1.0.json",
    sha256: sha("x"),
    size: 1234,
    version: "1.1.0",
  };

  it("accepts an unsigned pointer and a signed one; refuses a bad signature, an expired one, another project's", async () => {
    const pointers: Record<string, Buffer> = {
      unsigned: envelope(target, []),
      signed: envelope({ ...target, expires: "2099-01-01T00:00:00Z" }),
      stranger: envelope(target, [stranger]),
      tampered: envelope(target, [key], (s) => s.replace("1.1.0", "1.2.0")),
      expired: envelope({ ...target, expires: "2020-01-01T00:00:00Z" }),
      other: envelope({ ...target, project: "lighthouse" }, []),
      // A validly signed pointer of the project's "beta" channel, replayed on "stable" (issue 10, 11).
      other_channel: envelope({ ...target, channel: "beta", expires: "2099-01-01T00:00:00Z" }),
      traversal: envelope({ ...target, release: "../../etc/x.json" }, []),
      garbage: Buffer.from("<html>hello</html>"),
      json_garbage: Buffer.from("{html: hello}\n}\n"),
      // A check answer's unsigned pointer in its line form (src/delta answerPointer, "up").
      line: answerPointer(envelope(target, []), "up"),
      line_bad_size: Buffer.concat([Buffer.from("1.1.0 12x4\n"), Buffer.alloc(32, 1)]),
      line_short: Buffer.concat([Buffer.from("1.1.0 1234\n"), Buffer.alloc(31, 1)]),
      line_three_words: Buffer.concat([Buffer.from("1.1.0 1234 5\n"), Buffer.alloc(32, 1)]),
    };
    const script = `
import json
from mpota import envelope
from mpota.errors import UpdateError
out = {}
for name, data in ${JSON.stringify(Object.fromEntries(Object.entries(pointers).map(([k, v]) => [k, v.toString("hex")])))}.items():
    try:
        out[name] = envelope.pointer(bytes.fromhex(data), ["${key.publicKeyHex}"], "greenhouse", "stable")["version"]
    except UpdateError as e:
        out[name] = e.code + ": " + e.message
line = bytes.fromhex("${answerPointer(envelope(target, []), "up").toString("hex")}")
out["line_fields"] = envelope.pointer(line, [], "greenhouse", "stable")
try:
    envelope.pointer(line, [], "greenhouse", "stable", True)
except UpdateError as e:
    out["line_signed_only"] = e.code
print(json.dumps(out))
`;
    const { value } = await runDeviceScript(script);
    expect(value).toEqual({
      unsigned: "1.1.0",
      signed: "1.1.0",
      stranger: `signature: the channel pointer is signed by key ${stranger.keyId}, which this board does not trust`,
      tampered: "signature: the channel pointer: the signature does not match (tampered, or the wrong key)",
      expired: "expired: the channel pointer expired at 2020-01-01T00:00:00Z",
      other: "project: the channel pointer is for project lighthouse, this board runs greenhouse",
      other_channel: "channel: the channel pointer is for channel beta, this board follows stable",
      traversal: "manifest: malformed channel pointer",
      garbage: "manifest: malformed channel pointer",
      json_garbage: "manifest: not a signed envelope (docs/protocol.md layout)",
      line: "1.1.0",
      line_bad_size: "manifest: malformed channel pointer",
      line_short: "manifest: malformed channel pointer",
      line_three_words: "manifest: malformed channel pointer",
      line_fields: { ...target },
      line_signed_only: "signature",
    });
  });
});
