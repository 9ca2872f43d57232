import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import {
  type FileEntry,
  generateKeyPair,
  type Manifest,
  sha256Hex,
  signEnvelope,
} from "../manifest/index.ts";
import { makeFolder, writeFileAtomic } from "./atomic.ts";
import { compressBlob, inflateBlob } from "./blob.ts";
import { StoreError } from "./errors.ts";
import { openStore } from "./store.ts";

const key = generateKeyPair();
const tempStore = () => openStore(mkdtempSync(join(tmpdir(), "mpota-store-")));

function release(project: string, version: string, entries: FileEntry[]) {
  const manifest: Manifest = { format: 1, project, version, created: "2026-11-23T06:00:00Z", files: entries };
  return signEnvelope(manifest, key);
}

describe("blobs", () => {
  it("writes zlib streams with a 2^10 window (header 0x28) and reads them back", () => {
    const store = tempStore();
    const data = Buffer.from("print('hello')\n".repeat(200));
    const blob = store.putBlob(data);
    expect(blob).toEqual({ sha256: sha256Hex(data), size: data.length, zsize: expect.any(Number) });
    const z = readFileSync(join(store.root, "blobs", `${blob.sha256}.z`));
    expect(z.length).toBe(blob.zsize);
    expect(z[0]).toBe(0x28); // CMF: deflate, CINFO 2 = 2^10 window
    expect(store.readFile(blob.sha256, data.length)).toEqual(data);
    expect(store.putBlob(data)).toEqual(blob); // stored once
    expect(readdirSync(join(store.root, "blobs"))).toEqual([`${blob.sha256}.z`]);
  });

  it("refuses a damaged blob, a missing one, and a compression bomb", () => {
    const store = tempStore();
    const data = Buffer.from("x".repeat(1000));
    const { sha256 } = store.putBlob(data);
    expect(() => store.readFile(sha256, 999)).toThrow(`blob ${sha256} is damaged`);
    writeFileSync(store.blobPath(sha256), compressBlob(Buffer.from("y".repeat(1000))));
    expect(() => store.readFile(sha256, 1000)).toThrow(
      `blob ${sha256} is damaged (its content does not match its name)`,
    );
    writeFileSync(store.blobPath(sha256), Buffer.from("not zlib"));
    expect(() => store.readFile(sha256, 1000)).toThrow(StoreError);
    expect(() => store.readFile("a".repeat(64), 1)).toThrow(`blob ${"a".repeat(64)} is not in the store`);
    expect(() => store.blobPath("../x")).toThrow('"../x" is not a SHA-256 in hex');
    const bomb = compressBlob(Buffer.alloc(10_000_000));
    expect(bomb.length).toBeLessThan(20_000);
    expect(() => inflateBlob(bomb, 1_000_000)).toThrow();
    expect(inflateBlob(compressBlob(Buffer.alloc(0)), 0)).toEqual(Buffer.alloc(0));
  });

  it("are read by the device's deflate.DeflateIO(f, ZLIB, 10)", async () => {
    const store = tempStore();
    const text = Buffer.from(
      Array.from({ length: 3000 }, (_, i) => `line ${i} ${i % 7 ? "abc" : "xyz"}\n`).join(""),
    );
    const files = [text, randomBytes(20_000), Buffer.alloc(0)];
    const flash: Record<string, Buffer> = {};
    const blobs = files.map((data, i) => {
      const blob = store.putBlob(data);
      flash[`b${i}.z`] = store.readBlob(blob.sha256);
      return blob;
    });
    const script = `
import deflate, hashlib, binascii, json
out = []
for i in range(${files.length}):
    h = hashlib.sha256()
    n = 0
    with open("/b%d.z" % i, "rb") as raw:
        d = deflate.DeflateIO(raw, deflate.ZLIB, 10)
        buf = bytearray(512)
        while True:
            k = d.readinto(buf)
            if not k:
                break
            h.update(buf[:k])
            n += k
    out.append([n, binascii.hexlify(h.digest()).decode()])
print(json.dumps(out))
`;
    const { value } = await runDeviceScript(script, flash);
    expect(value).toEqual(blobs.map((b) => [b.size, b.sha256]));
  });
});

describe("releases", () => {
  function putFiles(store: ReturnType<typeof tempStore>, ...contents: string[]): FileEntry[] {
    return contents.map((text, i) => {
      const blob = store.putBlob(Buffer.from(text));
      return { path: `f${i}.py`, size: blob.size, sha256: blob.sha256, blobs: { zlib: blob.zsize } };
    });
  }

  it("stores a release after its blobs and reads it back", () => {
    const store = tempStore();
    const envelope = release("greenhouse", "1.0.0", putFiles(store, "a", "b"));
    const stored = store.putRelease(envelope);
    expect(readFileSync(join(store.root, "releases/greenhouse/1.0.0/manifest.json"))).toEqual(stored.bytes);
    const read = store.readRelease("greenhouse", "1.0.0");
    expect(read.envelope).toEqual(envelope);
    expect(read.bytes).toEqual(stored.bytes);
    expect(store.hasRelease("greenhouse", "1.0.0")).toBe(true);
    expect(store.listProjects()).toEqual(["greenhouse"]);
  });

  it("refuses a release whose blobs or patches are missing, and writes nothing", () => {
    const store = tempStore();
    const [entry] = putFiles(store, "a");
    const missing = { ...entry!, path: "g.py", sha256: "b".repeat(64) };
    expect(() => store.putRelease(release("p", "1.0.0", [entry!, missing]))).toThrow(
      `blob of g.py (${"b".repeat(64)}) is not in the store`,
    );
    const patched = {
      ...entry!,
      blobs: {
        zlib: entry!.blobs.zlib,
        patches: [
          { encoding: "fossil", from_sha256: "c".repeat(64), sha256_of_patch: "d".repeat(64), size: 5 },
        ],
      },
    };
    expect(() => store.putRelease(release("p", "1.0.0", [patched]))).toThrow(
      `patch of f0.py from ${"c".repeat(64)} is not in the store`,
    );
    store.putPatch("c".repeat(64), entry!.sha256, compressBlob(Buffer.from("delta")));
    expect(store.putRelease(release("p", "1.0.0", [patched])).envelope.signed.files[0]).toEqual(patched);
    expect(inflateBlob(store.readPatch("c".repeat(64), entry!.sha256), 100).toString()).toBe("delta");
  });

  it("keeps versions immutable: the same bytes again are fine, others refused", () => {
    const store = tempStore();
    const files = putFiles(store, "a");
    store.putRelease(release("p", "1.0.0", files));
    expect(() => store.putRelease(release("p", "1.0.0", files))).not.toThrow();
    const other = { ...release("p", "1.0.0", files).signed, created: "2026-11-24T06:00:00Z" };
    expect(() => store.putRelease(signEnvelope(other, key))).toThrow(
      "release p 1.0.0 is already in the store (versions are immutable)",
    );
  });

  it("lists complete releases in semver order and names the latest", () => {
    const store = tempStore();
    const files = putFiles(store, "a");
    expect(store.latestVersion("p")).toBe(undefined);
    expect(store.listProjects()).toEqual([]);
    for (const v of ["1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.0"]) store.putRelease(release("p", v, files));
    // A folder without its manifest (a release being written) and temp files are not releases.
    mkdirSync(join(store.root, "releases/p/9.0.0"), { recursive: true });
    writeFileSync(join(store.root, "releases/p/.tmp-x"), "");
    mkdirSync(join(store.root, "releases/empty"), { recursive: true });
    expect(store.listReleases("p")).toEqual(["0.9.0", "1.2.0-rc.1", "1.2.0", "1.10.0"]);
    expect(store.latestVersion("p")).toBe("1.10.0");
    expect(store.listProjects()).toEqual(["p"]);
    expect(() => store.readRelease("p", "9.0.0")).toThrow(
      `release p 9.0.0 is not in the store ${store.root}`,
    );
    expect(() => store.manifestPath("P", "1.0.0")).toThrow('project "P" must be a name');
    expect(() => store.manifestPath("p", "../1")).toThrow('version "../1" is not a semver version');
  });

  it("stores update packs once by the envelopes' sha256s and listed for the release they lead to", () => {
    const store = tempStore();
    const files = putFiles(store, "a");
    const v1 = sha256Hex(store.putRelease(release("p", "1.0.0", files)).bytes);
    const v2 = sha256Hex(store.putRelease(release("p", "1.1.0", files)).bytes);
    const v3 = sha256Hex(store.putRelease(release("p", "1.2.0", files)).bytes);
    expect(store.updatePacks("p", "1.2.0")).toEqual([]);
    store.putPack(v1, v3, Buffer.from("MPK1 from 1.0.0"));
    store.putPack(v2, v3, Buffer.from("MPK1 from 1.1.0"));
    store.putPack(v2, v3, Buffer.from("MPK1 again")); // immutable: the first stays
    store.putPatch(v1, v2, Buffer.from("an envelope patch, not a pack"));
    expect(store.hasPack(v2, v3)).toBe(true);
    expect(store.hasPack(v1, v2)).toBe(false);
    expect(store.readPack(v2, v3).toString()).toBe("MPK1 from 1.1.0");
    expect(store.packPath(v1, v3)).toBe(join(store.root, "packs", `${v1}-${v3}.pack`));
    expect(store.updatePacks("p", "1.2.0")).toEqual([
      { from: v1, to: v3 },
      { from: v2, to: v3 },
    ]);
    expect(store.updatePacks("p", "1.1.0")).toEqual([]);
    expect(store.envelopePatches("p", "1.1.0")).toEqual([{ from: v1, to: v2 }]);
    expect(() => store.readPack(v1, v2)).toThrow(`update pack ${v1}-${v2} is not in the store`);
    expect(() => store.packPath("../x", v1)).toThrow('"../x" is not a SHA-256 in hex');
  });
});

describe("writeFileAtomic", () => {
  it("replaces a file whole and leaves no temporary file", () => {
    const dir = mkdtempSync(join(tmpdir(), "mpota-atomic-"));
    const file = join(dir, "sub/x.json");
    writeFileAtomic(file, "old");
    writeFileAtomic(file, Buffer.from("new"));
    expect(readFileSync(file, "utf8")).toBe("new");
    expect(readdirSync(join(dir, "sub"))).toEqual(["x.json"]);
    // A failing write (the target is a folder) leaves the folder as it was.
    mkdirSync(join(dir, "d"));
    expect(() => writeFileAtomic(join(dir, "d"), "x")).toThrow();
    expect(readdirSync(dir).sort()).toEqual(["d", "sub"]);
  });
});

describe("writeFileAtomic exclusive", () => {
  it("never replaces an existing file", () => {
    const dir = mkdtempSync(join(tmpdir(), "mpota-atomic-"));
    const file = join(dir, "v.json");
    writeFileAtomic(file, "first", { exclusive: true });
    expect(() => writeFileAtomic(file, "second", { exclusive: true })).toThrow(
      expect.objectContaining({ code: "EEXIST" }),
    );
    expect(readFileSync(file, "utf8")).toBe("first");
    expect(readdirSync(dir)).toEqual(["v.json"]);
  });
});

describe("makeFolder", () => {
  it("makes missing parents, accepts an existing folder, and names a file in the way", () => {
    const dir = mkdtempSync(join(tmpdir(), "mpota-folder-"));
    makeFolder(join(dir, "a/b/c"));
    makeFolder(join(dir, "a/b/c"));
    expect(existsSync(join(dir, "a/b/c"))).toBe(true);
    writeFileSync(join(dir, "file"), "x");
    expect(() => makeFolder(join(dir, "file"))).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
    expect(() => makeFolder(join(dir, "file/sub"))).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
  });

  it("gives up where a parent exists but refuses the child (Node's recursive mkdir loops for ever under /proc)", () => {
    expect(() => makeFolder("/proc/mpota-test/site")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
