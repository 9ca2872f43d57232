import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRepo } from "../../testing/git-hosts/git-repo.ts";
import {
  applyPatch,
  decodePack,
  makeEnvelopePatch,
  makeReleasePack,
  makeReleasePatches,
} from "../delta/index.ts";
import {
  generateKeyPair,
  gitBlobSha1,
  parseReleaseEnvelope,
  sha256Hex,
  verifyEnvelope,
} from "../manifest/index.ts";
import { compressBlob, openStore, type ReleaseStore } from "../store/index.ts";
import {
  type BuildOptions,
  buildRelease,
  type MadePatch,
  type MakePack,
  type MakePatches,
  type PatchContext,
} from "./build.ts";

const key = generateKeyPair();
const created = new Date("2026-11-23T06:00:00.123Z");

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "mpota-app-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const APP = {
  "main.py": "import lib.util\nlib.util.run()\n",
  "lib/util.py": "def run():\n    print('hi')\n",
  "lib/data/table.bin": "\u0000\u0001\u0002",
  "lib/__pycache__/util.cpython-311.pyc": "junk",
  ".git/HEAD": "ref: refs/heads/main\n",
  ".DS_Store": "junk",
};

function options(store: ReleaseStore, extra: Partial<BuildOptions>): BuildOptions {
  return { project: "greenhouse", version: "1.0.0", key, store, created, ...extra };
}

const newStore = () => openStore(mkdtempSync(join(tmpdir(), "mpota-store-")));

describe("buildRelease from a folder", () => {
  it("stores every file as a blob and a signed envelope that verifies", async () => {
    const store = newStore();
    const events: string[] = [];
    const built = await buildRelease(
      options(store, { dir: tree(APP), onProgress: (e) => events.push(`${e.phase} ${e.done}/${e.total}`) }),
    );
    const envelope = parseReleaseEnvelope(built.bytes);
    expect(verifyEnvelope(envelope, [key.publicKeyHex])).toEqual([key.keyId]);
    expect(envelope.signed).toMatchObject({
      format: 1,
      project: "greenhouse",
      version: "1.0.0",
      created: "2026-11-23T06:00:00Z",
    });
    expect(envelope.signed.rollback).toBe(undefined);
    expect(envelope.signed.files.map((f) => f.path)).toEqual([
      "lib/data/table.bin",
      "lib/util.py",
      "main.py",
    ]);
    for (const file of envelope.signed.files) {
      const original = Buffer.from(APP[file.path as keyof typeof APP]);
      expect(file.sha256).toBe(sha256Hex(original));
      expect(file.size).toBe(original.length);
      expect(file.git_sha1).toBe(undefined);
      expect(store.readFile(file.sha256, file.size)).toEqual(original);
      expect(file.blobs.zlib).toBe(store.readBlob(file.sha256).length);
    }
    expect(store.readRelease("greenhouse", "1.0.0").bytes).toEqual(built.bytes);
    expect(built.sha256).toBe(sha256Hex(built.bytes));
    expect(built.newBlobs).toBe(3);
    expect(built.size).toBe(envelope.signed.files.reduce((n, f) => n + f.size, 0));
    expect(events).toEqual(["read 1/3", "read 2/3", "read 3/3", "patch 1/1", "sign 1/1"]);
  });

  it("refuses a version not greater than the latest, unless it is a signed rollback", async () => {
    const store = newStore();
    const dir = tree({ "main.py": "v1" });
    await buildRelease(options(store, { dir, version: "1.2.0" }));
    await expect(buildRelease(options(store, { dir, version: "1.1.0" }))).rejects.toThrow(
      "version 1.1.0 is not greater than 1.2.0, the latest release of greenhouse in the store (--rollback makes a signed rollback release on purpose)",
    );
    await expect(buildRelease(options(store, { dir, version: "1.2.0" }))).rejects.toThrow(
      "release greenhouse 1.2.0 is already in the store; choose a new version",
    );
    await expect(buildRelease(options(store, { dir, version: "1.2.0-rc.1" }))).rejects.toThrow(
      "not greater than",
    );
    await expect(
      buildRelease(options(store, { dir, version: "1.2.0", rollback: true, rollbackFrom: ["1.2.0"] })),
    ).rejects.toThrow("already in the store");
    await expect(buildRelease(options(store, { dir, version: "1.1.1", rollback: true }))).rejects.toThrow(
      "a rollback release names the releases boards may leave for it (--rollback-from 1.2.0,1.2.1): boards on any other version refuse it",
    );
    await expect(
      buildRelease(options(store, { dir, version: "1.1.1", rollback: true, rollbackFrom: ["1.0.0"] })),
    ).rejects.toThrow('rollback_from[0]: "1.0.0" is not newer than the release ("1.1.1")');
    const rollback = await buildRelease(
      options(store, { dir, version: "1.1.1", rollback: true, rollbackFrom: ["1.2.0"] }),
    );
    expect(parseReleaseEnvelope(rollback.bytes).signed).toMatchObject({
      rollback: true,
      rollback_from: ["1.2.0"],
    });
    expect(rollback.newBlobs).toBe(0);
    // The next ordinary release must still pass the highest version.
    await expect(buildRelease(options(store, { dir, version: "1.1.2" }))).rejects.toThrow(
      "not greater than 1.2.0",
    );
    await buildRelease(options(store, { dir, version: "1.3.0" }));
    expect(store.listReleases("greenhouse")).toEqual(["1.1.1", "1.2.0", "1.3.0"]);
    await buildRelease(options(store, { dir, project: "other", version: "0.1.0" }));
  });

  it("takes only allowed files, ignore winning", async () => {
    const store = newStore();
    const dir = tree({ ...APP, "tests/test_util.py": "x", "README.md": "x", "lib/secret.py": "x" });
    const built = await buildRelease(
      options(store, { dir, allow: ["main.py", "lib"], ignore: ["lib/secret.py", "lib/data"] }),
    );
    expect(built.envelope.signed.files.map((f) => f.path)).toEqual(["lib/util.py", "main.py"]);
    await expect(
      buildRelease(options(store, { dir, version: "1.0.1", allow: ["main.py", "lbi"] })),
    ).rejects.toThrow("--allow lbi matched no file");
  });

  it("leaves out the store and the key file when they sit in the folder, and refuses other private keys", async () => {
    const dir = tree({ "main.py": "x" });
    const store = openStore(join(dir, "store"));
    writeFileSync(join(dir, "release.key"), "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n");
    await buildRelease(options(store, { dir, exclude: [join(dir, "release.key")] }));
    const built = await buildRelease(
      options(store, { dir, version: "1.0.1", exclude: [join(dir, "release.key")] }),
    );
    expect(built.envelope.signed.files.map((f) => f.path)).toEqual(["main.py"]);
    await expect(buildRelease(options(store, { dir, version: "1.0.2" }))).rejects.toThrow(
      "release.key holds a private key; it must not ship (--ignore release.key)",
    );
  });

  it("signs hooks and min_loader, and checks the hooks exist", async () => {
    const store = newStore();
    const dir = tree({ "main.py": "x", "setup.py": "y" });
    const built = await buildRelease(
      options(store, { dir, hooks: { post_update: "setup.py" }, minLoader: 2 }),
    );
    expect(built.envelope.signed).toMatchObject({ hooks: { post_update: "setup.py" }, min_loader: 2 });
    await expect(
      buildRelease(options(store, { dir, version: "2.0.0", hooks: { rollback: "undo.py" } })),
    ).rejects.toThrow("the rollback hook undo.py is not a file of the release");
  });

  it("says what is wrong with the source", async () => {
    const store = newStore();
    await expect(buildRelease(options(store, { dir: "/nonexistent/app" }))).rejects.toThrow(
      "folder /nonexistent/app does not exist",
    );
    const dir = tree({ "main.py": "x" });
    await expect(buildRelease(options(store, { dir: join(dir, "main.py") }))).rejects.toThrow(
      "is not a folder",
    );
    await expect(buildRelease(options(store, { dir, allow: [], ignore: ["main.py"] }))).rejects.toThrow(
      "there are no files to release",
    );
    symlinkSync("/etc/passwd", join(dir, "passwd"));
    await expect(buildRelease(options(store, { dir }))).rejects.toThrow(
      `${join(dir, "passwd")} is a symbolic link; a release holds plain files (--ignore it)`,
    );
    await expect(buildRelease(options(store, { dir, version: "1.0" }))).rejects.toThrow(
      'version: "1.0" must be',
    );
    await expect(buildRelease(options(store, {}))).rejects.toThrow("give a folder or a git ref to release");
    expect(store.listReleases("greenhouse")).toEqual([]);
  });
});

describe("buildRelease from a git ref", () => {
  it("reads a commit's files without a checkout, with their git blob SHA-1s", async () => {
    const repo = createRepo();
    try {
      const first = repo.commit({ "app/main.py": "v1", "app/lib/x.py": "x", "README.md": "doc" });
      repo.tag("v1");
      repo.commit({ "app/main.py": "v2" });
      // Uncommitted changes in the work tree are not part of any ref.
      writeFileSync(join(repo.dir, "app/main.py"), "dirty");
      const store = newStore();
      const built = await buildRelease(options(store, { gitRef: "v1", repo: repo.dir }));
      const files = built.envelope.signed.files;
      expect(files.map((f) => f.path)).toEqual(["README.md", "app/lib/x.py", "app/main.py"]);
      expect(files[2]?.git_sha1).toBe(gitBlobSha1(Buffer.from("v1")));
      expect(store.readFile(files[2]!.sha256, 2).toString()).toBe("v1");
      const sub = await buildRelease(
        options(store, { gitRef: "HEAD", repo: repo.dir, dir: "app", version: "1.1.0" }),
      );
      expect(
        sub.envelope.signed.files.map((f) => [f.path, store.readFile(f.sha256, f.size).toString()]),
      ).toEqual([
        ["lib/x.py", "x"],
        ["main.py", "v2"],
      ]);
      const only = await buildRelease(
        options(store, {
          gitRef: first,
          repo: repo.dir,
          version: "1.2.0",
          allow: ["app"],
          ignore: ["app/lib"],
        }),
      );
      expect(only.envelope.signed.files.map((f) => f.path)).toEqual(["app/main.py"]);
      await expect(
        buildRelease(options(store, { gitRef: "nope", repo: repo.dir, version: "2.0.0" })),
      ).rejects.toThrow(/^git ls-tree failed in .*: fatal: Not a valid object name nope/);
      await expect(
        buildRelease(options(store, { gitRef: "--help", repo: repo.dir, version: "2.0.0" })),
      ).rejects.toThrow('git ref "--help" cannot start with "-"');
      symlinkSync("main.py", join(repo.dir, "app/link.py"));
      repo.commit({}, "link");
      await expect(
        buildRelease(options(store, { gitRef: "HEAD", repo: repo.dir, version: "2.0.0" })),
      ).rejects.toThrow("app/link.py is a symbolic link at HEAD");
    } finally {
      repo.close();
    }
  });
});

// A stand-in patch maker: the "patch" is just the new file compressed; enough to check the seam.
const maker = ({ files, previous }: PatchContext): MadePatch[] =>
  files.flatMap(({ entry, data }) => {
    const old = previous[0]?.envelope.signed.files.find((f) => f.path === entry.path);
    if (!old || old.sha256 === entry.sha256) return [];
    const bytes = compressBlob(data);
    return [
      {
        path: entry.path,
        data: bytes,
        patch: {
          encoding: "fossil",
          from_sha256: old.sha256,
          sha256_of_patch: sha256Hex(bytes),
          size: bytes.length,
        },
      },
    ];
  });

describe("the makePatches seam", () => {
  it("offers earlier releases newest first and, with signedPatches, lists and stores the patches it returns", async () => {
    const store = newStore();
    const seen: string[][] = [];
    const spy: MakePatches = (context) => {
      seen.push(context.previous.map((r) => r.envelope.signed.version));
      return maker(context);
    };
    const signedPatches = true;
    await buildRelease(options(store, { dir: tree({ "a.py": "1", "b.py": "same" }), makePatches: spy }));
    await buildRelease(
      options(store, {
        dir: tree({ "a.py": "2", "b.py": "same" }),
        version: "1.1.0",
        makePatches: spy,
        signedPatches,
      }),
    );
    const built = await buildRelease(
      options(store, {
        dir: tree({ "a.py": "3", "b.py": "same" }),
        version: "1.2.0",
        makePatches: spy,
        patchBases: 2,
        signedPatches,
      }),
    );
    // 1.0.0 had no earlier release, so the maker was not asked.
    expect(seen).toEqual([["1.0.0"], ["1.1.0", "1.0.0"]]);
    expect(built.patches).toBe(1);
    const [a, b] = built.envelope.signed.files;
    expect(b?.blobs.patches).toBe(undefined);
    const patch = a?.blobs.patches?.[0];
    expect(patch?.from_sha256).toBe(sha256Hex("2"));
    expect(store.readPatch(patch!.from_sha256, a!.sha256)).toEqual(compressBlob(Buffer.from("3")));
  });

  it("lists no patches in the manifest and stores none by default (update packs carry them)", async () => {
    const store = newStore();
    await buildRelease(options(store, { dir: tree({ "a.py": "1" }) }));
    const built = await buildRelease(
      options(store, { dir: tree({ "a.py": "2" }), version: "1.1.0", makePatches: maker }),
    );
    expect(built.patches).toBe(1);
    expect(built.envelope.signed.files[0]!.blobs).toEqual({
      zlib: built.envelope.signed.files[0]!.blobs.zlib,
    });
    expect(store.hasPatch(sha256Hex("1"), sha256Hex("2"))).toBe(false);
  });

  it("refuses patches that do not match what they declare", async () => {
    const store = newStore();
    await buildRelease(options(store, { dir: tree({ "a.py": "1" }) }));
    const liar: MakePatches = (context) =>
      maker(context).map((p) => ({ ...p, patch: { ...p.patch, size: p.patch.size + 1 } }));
    await expect(
      buildRelease(options(store, { dir: tree({ "a.py": "2" }), version: "1.1.0", makePatches: liar })),
    ).rejects.toThrow("the patch maker's patch for a.py does not match its size or sha256_of_patch");
    const stray: MakePatches = (context) => maker(context).map((p) => ({ ...p, path: "zzz.py" }));
    await expect(
      buildRelease(options(store, { dir: tree({ "a.py": "2" }), version: "1.1.0", makePatches: stray })),
    ).rejects.toThrow("the patch maker made a patch for zzz.py, which is not in the release");
    expect(store.listReleases("greenhouse")).toEqual(["1.0.0"]);
  });
});

describe("the makeEnvelopePatch seam", () => {
  it("stores a patch from each earlier envelope offered to the new one, by the envelopes' sha256s", async () => {
    const store = newStore();
    const made: Array<[string, string]> = [];
    const makeEnvelopePatch = (from: Uint8Array, to: Uint8Array) => {
      made.push([sha256Hex(from), sha256Hex(to)]);
      return from.length > 0 ? compressBlob(to) : undefined; // a stand-in: the seam is under test
    };
    const v1 = await buildRelease(options(store, { dir: tree({ "a.py": "1" }), makeEnvelopePatch }));
    const v2 = await buildRelease(
      options(store, { dir: tree({ "a.py": "2" }), version: "1.1.0", makeEnvelopePatch }),
    );
    const v3 = await buildRelease(
      options(store, { dir: tree({ "a.py": "3" }), version: "1.2.0", makeEnvelopePatch, patchBases: 1 }),
    );
    // 1.0.0 had none before it; 1.2.0 offers only 1.1.0 (patchBases 1).
    expect(made).toEqual([
      [v1.sha256, v2.sha256],
      [v2.sha256, v3.sha256],
    ]);
    expect(store.readPatch(v1.sha256, v2.sha256)).toEqual(compressBlob(v2.bytes));
    expect(store.envelopePatches("greenhouse", "1.2.0")).toEqual([{ from: v2.sha256, to: v3.sha256 }]);
    expect(store.envelopePatches("greenhouse", "1.0.0")).toEqual([]);
  });
});

describe("the makePack seam", () => {
  const patchBoth = (from: Uint8Array, to: Uint8Array) => (from.length > 0 ? compressBlob(to) : undefined);

  it("stores the pack from each earlier release with an envelope patch, given the made patches", async () => {
    const store = newStore();
    const asked: Array<{ from: string[]; to: string[]; envelope: string; patches: string[] }> = [];
    const makePack: MakePack = (args) => {
      asked.push({
        from: args.from.map((f) => f.path),
        to: args.to.map((f) => f.path),
        envelope: args.envelope.sha256,
        patches: args.patches.map((p) => `${p.path} ${p.patch.from_sha256}`),
      });
      return Buffer.concat([Buffer.from("pack "), args.readBlob(args.to[0]!.sha256)]);
    };
    const common = { makePatches: maker, makeEnvelopePatch: patchBoth, makePack };
    const v1 = await buildRelease(options(store, { dir: tree({ "a.py": "1", "b.py": "b" }), ...common }));
    const v2 = await buildRelease(
      options(store, { dir: tree({ "a.py": "2", "b.py": "b" }), version: "1.1.0", ...common }),
    );
    expect(v1.packs).toBe(0);
    expect(v2.packs).toBe(1);
    expect(asked).toEqual([
      {
        from: ["a.py", "b.py"],
        to: ["a.py", "b.py"],
        envelope: v2.sha256,
        patches: [`a.py ${sha256Hex("1")}`],
      },
    ]);
    expect(store.readPack(v1.sha256, v2.sha256)).toEqual(
      Buffer.concat([Buffer.from("pack "), compressBlob(Buffer.from("2"))]),
    );
    expect(store.updatePacks("greenhouse", "1.1.0")).toEqual([{ from: v1.sha256, to: v2.sha256 }]);
    expect(store.updatePacks("greenhouse", "1.0.0")).toEqual([]);
  });

  it("makes no pack where there is no envelope patch", async () => {
    const store = newStore();
    const makePack: MakePack = () => Buffer.from("pack");
    const none = () => undefined;
    await buildRelease(options(store, { dir: tree({ "a.py": "1" }), makeEnvelopePatch: none, makePack }));
    const v2 = await buildRelease(
      options(store, { dir: tree({ "a.py": "2" }), version: "1.1.0", makeEnvelopePatch: none, makePack }),
    );
    expect(v2.packs).toBe(0);
    expect(store.updatePacks("greenhouse", "1.1.0")).toEqual([]);
  });

  it("with src/delta's makers: the envelope patch, then the patch of the changed file, no record for the same one", async () => {
    const store = newStore();
    const big = Array.from({ length: 200 }, (_, i) => `x${i} = ${i * 7}\n`).join("");
    const delta = { makePatches: makeReleasePatches, makeEnvelopePatch, makePack: makeReleasePack };
    const v1 = await buildRelease(options(store, { dir: tree({ "a.py": big, "b.py": "b" }), ...delta }));
    const v2 = await buildRelease(
      options(store, {
        dir: tree({ "a.py": big.replace("x7 =", "y7 ="), "b.py": "b", "c.py": "new" }),
        version: "1.1.0",
        ...delta,
      }),
    );
    const [a, , c] = v2.envelope.signed.files;
    const records = decodePack(store.readPack(v1.sha256, v2.sha256));
    expect(records.map((r) => [r.kind, r.key])).toEqual([
      ["e", v2.sha256.slice(0, 16)],
      ["f", a!.sha256.slice(0, 16)],
      ["z", c!.sha256.slice(0, 16)],
    ]);
    expect(Buffer.from(records[0]!.data)).toEqual(store.readPatch(v1.sha256, v2.sha256));
    const want = { size: v2.bytes.length, sha256: v2.sha256 };
    expect(Buffer.from(applyPatch(v1.bytes, records[0]!.data, "fossil", want))).toEqual(v2.bytes);
    expect(Buffer.from(records[2]!.data)).toEqual(store.readBlob(c!.sha256));
  });
});
