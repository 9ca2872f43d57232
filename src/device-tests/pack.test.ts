/**
 * Update packs on the device (device/mpota/answer.py, pack.py, fetch.py, install.py): a board one release
 * behind takes the pack with its check answer (channels/<channel>.up), one request whatever the number
 * of changed files; a board the answer's pack is not for downloads its own pack; without a pack (several
 * releases behind, no envelope beside its slot, a damaged pack) it updates by today's downloads; a source
 * without check answers (404) is asked for the pointer.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { faultFixture, printed, runCommand, sameTree, slotTree, testApp } from "../../testing/board.ts";
import { writeSitePack } from "../../testing/pack.ts";
import { startTestServer } from "../../testing/server.ts";
import { decodePack } from "../delta/index.ts";
import { AdminClient, publishRelease, releaseFromFolder } from "../server/admin-client.ts";

const fixture = faultFixture();
const { board, release, publish, boardFiles, channelPath, releasePath, project } = fixture;

const big = Array.from({ length: 300 }, (_, i) => `VALUE_${i} = ${i * 7919}  # calibration\n`).join("");
const data = randomBytes(3000);
const shifted = big.replace(/= (\d+)/g, (_, n) => `= ${Number(n) + 1}`); // bsdiff-seq's case
const trees = {
  "1.0.0": testApp("1.0.0", {
    "lib/a.py": "A = 1\n",
    "lib/big.py": big,
    "lib/shift.py": big,
    "data.bin": data,
  }),
  "1.1.0": testApp("1.1.0", {
    "lib/a.py": "A = 2\n",
    "lib/big.py": big,
    "lib/shift.py": big,
    "data.bin": data,
  }),
  // several changed files: a small edit of a big module, a binary edit, an added file, a removed one
  "1.2.0": testApp("1.2.0", {
    "lib/big.py": big.replace("VALUE_150 = ", "VALUE_150 = 1 + "),
    "data.bin": Buffer.concat([data.subarray(0, 1000), Buffer.from("edit"), data.subarray(1004)]),
    "lib/new.py": "NEW = 1\n",
    "lib/shift.py": shifted,
  }),
  "1.3.0": testApp("1.3.0", {
    "lib/a.py": "A = 3\n",
    "lib/big.py": big,
    "lib/shift.py": big,
    "data.bin": data,
  }),
  "1.4.0": testApp("1.4.0", {
    "lib/a.py": "A = 4\n",
    "lib/big.py": big,
    "lib/shift.py": big,
    "data.bin": data,
  }),
};

beforeAll(async () => {
  await fixture.start();
  release("1.0.0", trees["1.0.0"]);
  release("1.1.0", trees["1.1.0"], { packFrom: ["1.0.0"] });
  release("1.2.0", trees["1.2.0"], { packFrom: ["1.0.0"] });
  release("1.3.0", trees["1.3.0"]);
  release("1.4.0", trees["1.4.0"], { packFrom: ["1.3.0"] }); // none from 1.0.0: 4 releases behind
  // Channels to-<v> named no release before, so their check answers carry no pack.
  for (const v of ["1.1.0", "1.2.0", "1.4.0"]) publish(`to-${v}`, v);
  // Channels that moved on from a release: their check answers carry the pack from it.
  for (const [channel, from, to] of [
    ["next", "1.0.0", "1.1.0"],
    ["next-again", "1.0.0", "1.1.0"],
    ["from-1.3.0", "1.3.0", "1.4.0"],
  ] as const) {
    writeSitePack(fixture.site, project, from, to);
    publish(channel, from);
    publish(channel, to);
  }
});

afterEach(async () => {
  await fixture.closeBoards();
  fixture.server.rules.length = 0;
  fixture.server.requests.length = 0;
});

afterAll(fixture.close);

/** Updates a board on 1.0.0 following channel `to-<version>` (its flash changed by `change` first). */
async function update(
  version: keyof typeof trees,
  change: (files: Record<string, unknown>) => void = () => {},
  channel = `to-${version}`,
) {
  const files = boardFiles(
    fixture.config(channel, { timeout_s: 2, retries: 1, reset_mode: "none" }),
    "1.0.0",
  );
  change(files);
  const device = board(files as typeof files);
  const r = await runCommand(device, "update");
  const after = device.files();
  return {
    result: printed(r.output, "update"),
    asked: fixture.server.requests.map((q) => q.path),
    installed: sameTree(slotTree(after, 1), trees[version]),
    leftovers: Object.keys(after).filter((p) => p.startsWith(".mpota/tmp")),
    r,
  };
}

describe("check answers with an update pack", () => {
  it("one release behind: the check answer brings the pack, and that one request is the update", async () => {
    const { result, asked, installed, leftovers, r } = await update("1.1.0", undefined, "next");
    expect(result).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(asked).toEqual([channelPath("next")]);
    expect(installed).toBe(true);
    expect(leftovers).toEqual([]);
    const answer = readFileSync(join(fixture.site, channelPath("next")));
    expect(r.netBytesIn).toBeLessThan(answer.length + 400);
    // The unsigned pointer's line and sha256, the pack's origin (8 bytes), then the pack, whose envelope
    // record is the copy-hex delta the board applied.
    const pack = answer.subarray(answer.indexOf("\n") + 1 + 32 + 8);
    expect(decodePack(pack)[0]!.kind).toBe("h");
  });

  it("check() keeps the pack its answer brought; update() then finds the pointer unchanged (304) and uses it", async () => {
    const device = board(
      boardFiles(fixture.config("next-again", { timeout_s: 2, retries: 1, reset_mode: "none" }), "1.0.0"),
    );
    expect(printed((await runCommand(device, "check")).output, "check")).toMatchObject({
      available: "1.1.0",
    });
    expect(Object.keys(device.files()).filter((p) => p.startsWith(".mpota/next/"))).toHaveLength(1);
    const r = await runCommand(device, "update");
    expect(printed(r.output, "update")).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(fixture.server.requests.map((q) => [q.path, q.status])).toEqual([
      [channelPath("next-again"), 200],
      [channelPath("next-again"), 304],
    ]);
    expect(sameTree(slotTree(device.files(), 1), trees["1.1.0"])).toBe(true);
    expect(Object.keys(device.files()).filter((p) => p.startsWith(".mpota/next/"))).toEqual([]);
  });

  it("a pack from another release than the board's is left alone: the board asks for its own", async () => {
    const { result, asked, installed, leftovers } = await update("1.4.0", undefined, "from-1.3.0");
    expect(result).toMatchObject({ ok: true, installed: "1.4.0" });
    expect(asked.slice(0, 2)).toEqual([
      channelPath("from-1.3.0"),
      expect.stringMatching(/\/packs\/.*\.pack$/),
    ]);
    expect(asked).toContain(releasePath("1.4.0"));
    expect(installed).toBe(true);
    expect(leftovers).toEqual([]);
  });

  it("a damaged pack in the answer costs only what it saved: the board installs the signed release", async () => {
    const answer = join(fixture.site, channelPath("next"));
    const good = readFileSync(answer);
    const bad = Buffer.from(good);
    bad[bad.length - 20] = bad[bad.length - 20]! ^ 0xff; // inside the pack's last record
    writeFileSync(answer, bad);
    try {
      const { result, asked, installed, leftovers } = await update("1.1.0", undefined, "next");
      expect(result).toMatchObject({ ok: true, installed: "1.1.0" });
      expect(asked[0]).toBe(channelPath("next"));
      expect(asked.length).toBeGreaterThan(1);
      expect(installed).toBe(true);
      expect(leftovers).toEqual([]);
    } finally {
      writeFileSync(answer, good);
    }
  });

  it("junk after the pointer costs what the pack saved; an answer past pointer + 8 KiB is refused by its size", async () => {
    const answer = join(fixture.site, channelPath("to-1.1.0"));
    const saved = readFileSync(answer);
    try {
      writeFileSync(answer, Buffer.concat([saved, Buffer.from("0123456789abcdef"), randomBytes(8000)]));
      const junk = await update("1.1.0");
      expect(junk.result).toMatchObject({ ok: true, installed: "1.1.0" });
      expect(junk.installed).toBe(true);
      expect(junk.asked.length).toBeGreaterThan(1); // the pack it asked for then, or the envelope
      writeFileSync(answer, Buffer.concat([saved, Buffer.from("0123456789abcdef"), randomBytes(13_000)]));
      fixture.server.requests.length = 0;
      const big = await update("1.1.0");
      expect(big.result).toMatchObject({ ok: false, error: { code: "size" } });
      expect(big.result.error.message).toMatch(/at most \d+ are expected/);
      expect(big.asked).toEqual([channelPath("to-1.1.0")]);
      expect(big.leftovers).toEqual([]);
    } finally {
      writeFileSync(answer, saved);
    }
  });

  it("a source without check answers (404) is asked for the pointer, then the pack", async () => {
    const answer = join(fixture.site, channelPath("to-1.1.0"));
    const saved = readFileSync(answer);
    rmSync(answer);
    try {
      const { result, asked, installed } = await update("1.1.0");
      expect(result).toMatchObject({ ok: true, installed: "1.1.0" });
      expect(asked).toEqual([
        channelPath("to-1.1.0"),
        `/${project}/channels/to-1.1.0.json`,
        expect.stringMatching(/\/packs\/.*\.pack$/),
      ]);
      expect(installed).toBe(true);
    } finally {
      writeFileSync(answer, saved);
    }
  });
});

describe("update packs", () => {
  it("one release behind, an answer without a pack: the answer and the pack, nothing else", async () => {
    const pack = writeSitePack(fixture.site, project, "1.0.0", "1.1.0");
    const { result, asked, installed, leftovers, r } = await update("1.1.0");
    expect(result).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(asked).toEqual([channelPath("to-1.1.0"), pack.path]);
    expect(installed).toBe(true);
    expect(leftovers).toEqual([]);
    expect(r.netBytesIn).toBeLessThan(pack.bytes.length + 2000); // + the pointer and the headers
  });

  it("several changed files (Fossil and bsdiff-seq patches, added, removed) still take one pack request", async () => {
    const pack = writeSitePack(fixture.site, project, "1.0.0", "1.2.0");
    const kinds = decodePack(pack.bytes).map((record) => record.kind);
    expect(kinds[0]).toBe("e");
    expect(kinds).toEqual(expect.arrayContaining(["f", "b", "z"]));
    const { result, asked, installed, leftovers } = await update("1.2.0");
    expect(result).toMatchObject({ ok: true, installed: "1.2.0" });
    const count = (...of: string[]) => kinds.filter((k) => of.includes(k)).length;
    expect(result.files).toMatchObject({ patched: count("f", "b"), downloaded: count("z"), patch_failed: 0 });
    expect(asked).toEqual([channelPath("to-1.2.0"), pack.path]);
    expect(installed).toBe(true);
    expect(leftovers).toEqual([]);
  });

  it("four releases behind (no pack from its release): the envelope and the files, as before", async () => {
    const { result, asked, installed, leftovers } = await update("1.4.0");
    expect(result).toMatchObject({ ok: true, installed: "1.4.0" });
    expect(asked.slice(0, 2)).toEqual([channelPath("to-1.4.0"), expect.stringMatching(/\/packs\/.*\.pack$/)]);
    expect(asked).toContain(releasePath("1.4.0"));
    expect(asked.some((p) => p.includes("/blobs/"))).toBe(true);
    expect(installed).toBe(true);
    expect(leftovers).toEqual([]);
  });

  it("no envelope beside its slot: no pack asked for, the whole envelope and the files", async () => {
    const { result, asked, installed } = await update("1.1.0", (files) => {
      delete files[".mpota/slot0.json"];
    });
    expect(result).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(asked.some((p) => p.includes("/packs/"))).toBe(false);
    expect(asked).toContain(releasePath("1.1.0"));
    expect(installed).toBe(true);
  });

  it("a pack cut short resumes where it stopped (Range) and is used", async () => {
    const pack = writeSitePack(fixture.site, project, "1.0.0", "1.2.0");
    const after = pack.bytes.length >> 1;
    fixture.server.rules.push({ path: pack.path, fault: { kind: "truncate", after } });
    const { result, asked, installed } = await update("1.2.0");
    expect(result).toMatchObject({ ok: true, installed: "1.2.0" });
    expect(asked).toEqual([channelPath("to-1.2.0"), pack.path, pack.path]);
    expect(fixture.server.requests[2]!.headers.range).toBe(`bytes=${after}-`);
    expect(installed).toBe(true);
  });
});

describe("update packs from mpota serve", () => {
  it("one release behind, the check-in answer brings the pack: one request, no report (the server sees the download)", async () => {
    const served = await startTestServer("sqlite", { limits: { checkinIntervalMs: 0 } });
    const asked: Array<{ method: string; url: string; auth: boolean; event?: string }> = [];
    served.app.addHook("preHandler", async (request) => {
      asked.push({
        method: request.method,
        url: request.url,
        auth: request.headers.authorization?.startsWith("Bearer ") ?? false,
        event: (request.body as { event?: string } | undefined)?.event,
      });
    });
    try {
      await served.app.listen({ port: 0, host: "127.0.0.1" });
      const url = `http://127.0.0.1:${(served.app.server.address() as { port: number }).port}`;
      const admin = new AdminClient(url, served.adminToken);
      await admin.request("POST", "/projects", { name: project });
      await admin.request("POST", `/projects/${project}/keys`, { publicKey: fixture.key.publicHex });
      for (const v of ["1.0.0", "1.1.0"])
        await publishRelease(admin, await releaseFromFolder(fixture.site, project, v), { project });
      await admin.request("PUT", `/projects/${project}/channels/stable`, { version: "1.1.0" });
      const { token } = await admin.request<{ token: string }>("POST", `/projects/${project}/devices`, {
        id: "p1",
      });
      asked.length = 0;
      const config = {
        project,
        keys: [fixture.key.publicHex],
        source: { type: "server", url, device_id: "p1", token },
        reset_mode: "none",
      };
      const device = board(boardFiles(config, "1.0.0"));
      const r = await runCommand(device, "update");
      expect(printed(r.output, "update")).toMatchObject({ ok: true, installed: "1.1.0" });
      expect(sameTree(slotTree(device.files(), 1), trees["1.1.0"])).toBe(true);
      expect(asked).toEqual([
        {
          method: "GET",
          url: `/d/${project}/channels/stable.up?version=1.0.0&state=good`,
          auth: true,
          event: undefined,
        },
      ]);
      await served.flush();
      const events = (
        await admin.request<{ events: Array<{ version: string; event: string }> }>(
          "GET",
          `/projects/${project}/devices/p1`,
        )
      ).events.map((e) => [e.version, e.event]);
      expect(events).toContainEqual(["1.1.0", "downloading"]);
    } finally {
      await served.close();
    }
  });
});
