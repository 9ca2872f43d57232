import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { answerPointer } from "../delta/index.ts";
import { channelPointer, envelopeBytes, type Manifest } from "../manifest/index.ts";
import { packName } from "../rules/index.ts";
import { traffic } from "./traffic.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("traffic", () => {
  it("names what a board fetched by its path in the releases it learnt", () => {
    const names = traffic();
    names.learn({ files: [{ path: "lib/sensors.py", sha256: A, size: 1, blobs: { zlib: 1 } }] } as Manifest);
    const E = "e".repeat(64);
    names.learn({ version: "1.1.0", files: [] as Manifest["files"] } as Manifest, E);
    const d = (path: string, status: 200 | 304 | 404 = 200, bytes = 10) =>
      names.describe({ method: "GET", path, url: path, status, bytes, authorized: false });
    expect(d("/greenhouse/channels/stable.json")).toEqual({
      kind: "channel",
      what: 'channel "stable" pointer',
      bytes: 10,
    });
    expect(d("/greenhouse/channels/beta.json", 304, 0).what).toBe(
      'channel "beta": unchanged since the last check',
    );
    expect(d("/greenhouse/releases/1.2.0.json").what).toBe("release 1.2.0 manifest (signed)");
    expect(d(`/greenhouse/blobs/${A}.z`)).toEqual({
      kind: "blob",
      what: "lib/sensors.py (whole file)",
      bytes: 10,
    });
    expect(d(`/greenhouse/patches/${B}-${A}.fz`).what).toBe("lib/sensors.py (delta patch)");
    expect(d(`/greenhouse/patches/${B}-${E}.fz`)).toEqual({
      kind: "release",
      what: "release 1.1.0 manifest (signed), as a delta patch",
      bytes: 10,
    });
    expect(d(`/greenhouse/blobs/${B}.z`).what).toBe("file bbbbbbbbbbbb… (whole file)");
    expect(d(`/greenhouse/packs/${packName(B, E)}`)).toEqual({
      kind: "pack",
      what: "release 1.1.0 update pack (signed manifest and changed files)",
      bytes: 10,
    });
    expect(d(`/greenhouse/packs/${packName(E, B)}`).what).toBe(
      "a release update pack (signed manifest and changed files)",
    );
    expect(d("/greenhouse/releases/9.9.9.json", 404, 0)).toEqual({
      kind: "missing",
      what: "/greenhouse/releases/9.9.9.json: not on the site (404)",
      bytes: 0,
    });
  });

  it("tells a check answer that brings an update pack from one that brings the pointer only", () => {
    const site = mkdtempSync(join(tmpdir(), "mpota-traffic-"));
    try {
      const envelope = Buffer.from("{}");
      const pointer = envelopeBytes({
        signed: channelPointer({ channel: "stable", project: "greenhouse", version: "1.1.0", envelope }),
        signatures: [],
      });
      mkdirSync(join(site, "greenhouse", "channels"), { recursive: true });
      writeFileSync(join(site, "greenhouse", "channels", "stable.json"), pointer);
      const names = traffic(site);
      const d = (bytes: number) =>
        names.describe({
          method: "GET",
          path: "/greenhouse/channels/stable.up",
          url: "/greenhouse/channels/stable.up",
          status: 200,
          bytes,
          authorized: false,
        });
      const alone = answerPointer(pointer, "up").length;
      expect(d(alone)).toEqual({ kind: "channel", what: 'channel "stable" pointer', bytes: alone });
      expect(d(alone + 300)).toEqual({
        kind: "pack",
        what: 'channel "stable" pointer and release 1.1.0 update pack (signed manifest and changed files)',
        bytes: alone + 300,
      });
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });
});
