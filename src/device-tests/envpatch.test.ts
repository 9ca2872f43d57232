/**
 * Envelope patches (device/mpota/envpatch.py): a board rebuilds the envelope of the next release from
 * the one beside its running slot and patches/<from>-<to>.fz, and downloads the whole envelope when
 * there is no such patch or it does not give the envelope the pointer names.
 */
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { faultFixture, printed, runCommand, testApp } from "../../testing/board.ts";
import { sha256Hex } from "../manifest/index.ts";

const fixture = faultFixture();
const { board, release, publish, boardFiles, paths, releasePath } = fixture;

const envelopeOf = (version: string) => readFileSync(paths.release(version));
const patchPath = (from: string, to: string) =>
  `/${fixture.project}/patches/${sha256Hex(envelopeOf(from))}-${sha256Hex(envelopeOf(to))}.fz`;

beforeAll(async () => {
  await fixture.start();
  release("1.0.0", testApp("1.0.0", { "lib/a.py": "A = 1\n" }));
  release("1.1.0", testApp("1.1.0", { "lib/a.py": "A = 2\n" }), { envelopePatchFrom: ["1.0.0"] });
  release("1.2.0", testApp("1.2.0", { "lib/a.py": "A = 3\n" })); // no patch from 1.0.0
  publish("patched", "1.1.0");
  publish("whole", "1.2.0");
});

afterEach(async () => {
  await fixture.closeBoards();
  fixture.server.rules.length = 0;
  fixture.server.requests.length = 0;
});

afterAll(fixture.close);

async function update(channel: string) {
  const device = board(
    boardFiles(fixture.config(channel, { timeout_s: 2, retries: 1, reset_mode: "none" }), "1.0.0"),
  );
  const r = await runCommand(device, "update");
  return { result: printed(r.output, "update"), paths: fixture.server.requests.map((q) => q.path), r };
}

describe("envelope patches", () => {
  it("a board one release behind downloads the change of the envelope, not the envelope", async () => {
    const { result, paths: asked, r } = await update("patched");
    expect(result).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(asked).toContain(patchPath("1.0.0", "1.1.0"));
    expect(asked).not.toContain(releasePath("1.1.0"));
    expect(r.netBytesIn).toBeLessThan(envelopeOf("1.1.0").length);
  });

  it("no patch from its envelope: the board downloads the whole envelope", async () => {
    const { result, paths: asked } = await update("whole");
    expect(result).toMatchObject({ ok: true, installed: "1.2.0" });
    expect(asked).toEqual(expect.arrayContaining([patchPath("1.0.0", "1.2.0"), releasePath("1.2.0")]));
  });

  it("a damaged patch: the whole envelope instead", async () => {
    fixture.server.rules.push({ path: patchPath("1.0.0", "1.1.0"), fault: { kind: "corrupt", at: 20 } });
    const { result, paths: asked } = await update("patched");
    expect(result).toMatchObject({ ok: true, installed: "1.1.0" });
    expect(asked).toEqual(expect.arrayContaining([patchPath("1.0.0", "1.1.0"), releasePath("1.1.0")]));
  });

  it("a patch that makes another release's envelope: the whole envelope the pointer names instead", async () => {
    const other = readFileSync(
      `${paths.root}/patches/${sha256Hex(envelopeOf("1.0.0"))}-${sha256Hex(envelopeOf("1.1.0"))}.fz`,
    );
    // The 1.1.0 patch served as the one to 1.2.0: it applies, but not to the envelope the pointer names.
    fixture.server.rules.push({
      path: `/${fixture.project}/patches/${sha256Hex(envelopeOf("1.0.0"))}-${sha256Hex(envelopeOf("1.2.0"))}.fz`,
      fault: { kind: "body", body: other },
    });
    const { result, paths: asked } = await update("whole");
    expect(result).toMatchObject({ ok: true, installed: "1.2.0" });
    expect(asked).toEqual(expect.arrayContaining([patchPath("1.0.0", "1.2.0"), releasePath("1.2.0")]));
  });
});
