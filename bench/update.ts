/**
 * `mpota bench update`: what an update of the example app (examples/greenhouse) costs a board, measured
 * on the virtual device against a static site on loopback:
 * - a no-update check (steady state: the board kept the pointer's ETag): requests and bytes both ways
 *   (target: 1 request, under 1 KB); also the very first check, before any ETag;
 * - an update 1.0.0 -> 1.1.0: requests, bytes on the wire (the envelope as a patch of 1.0.0's), flash
 *   bytes written;
 * - heap bytes the device allocates (gc.mem_alloc deltas; modules imported beforehand, reported apart)
 *   for the check, the envelope download + verification, verification alone, download + install;
 * - the install of a release adding one 10 KB file against one adding a 1 MB file: allocation must not
 *   follow file size (target: heapGrowth1MBvs10KB < 1.5);
 * - Ed25519 + SHA-512 verify time of the example envelope and of a 1,000-file and a 10,000-file one
 *   (the documented maximum: the path checks are linear in the manifest);
 * - updateMs: the whole of mpota.update() 1.0.0 -> 1.1.0 as an app calls it (phases, module loads).
 * The mpota package is the one releases ship (.mpy; see docs/device.md, RAM).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shippedMpotaPackage } from "../src/client/bundle.ts";
import { exampleAppTree, exampleMain } from "../src/demo/index.ts";
import { VirtualDevice } from "../src/sim/index.ts";
import { buildRelease, bundledBoard, makeSigningKey, publishPointer } from "../testing/board.ts";
import { startFaultServer } from "../testing/fault-proxy.ts";
import type { Benchmark } from "./index.ts";

const PROJECT = "greenhouse";

/** The example app at `version`, with the mpota package in lib/mpota/ and `extra` files. */
function exampleApp(version: string, extra: Record<string, Uint8Array | string> = {}) {
  const tree: Record<string, Uint8Array | string> = { ...exampleAppTree(), ...shipped, ...extra };
  tree["main.py"] = exampleMain(version);
  return tree;
}

const PRELUDE = `
import sys, gc, json, time
sys.path.insert(0, "/.mpota/slot0/lib")
a = gc.mem_alloc()
from mpota import config, source, envelope, install, http, ed25519, sha512
import deflate, hashlib
out = {"heapImports": gc.mem_alloc() - a}
cfg = config.load()

def measure(name, fn, *args):
    a = gc.mem_alloc()
    t = time.ticks_ms()
    value = fn(*args)
    out[name] = gc.mem_alloc() - a
    out[name + "Ms"] = time.ticks_diff(time.ticks_ms(), t)
    return value
`;

const UPDATE = `${PRELUDE}
pointer = measure("heapCheck", source.check, cfg, "1.0.0", None, True)
path = measure("heapFetch", source.fetch_release, cfg, pointer)
header = measure("heapVerify", envelope.verify, path, cfg["keys"], cfg["project"])
measure("heapInstall", install.install_release, cfg, path, header)
print("figures", json.dumps(out))
`;

// The whole of mpota.update() as an app calls it (reset_mode "none": it returns), phases included.
const WHOLE = `
import sys, json, time
sys.path.insert(0, "/.mpota/slot0/lib")
import mpota
t = time.ticks_ms()
r = mpota.update()
print("figures", json.dumps({"updateMs": time.ticks_diff(time.ticks_ms(), t), "installed": r.get("installed")}))
`;

const CHECK = `${PRELUDE}
measure("heapCheck", source.check, cfg, "1.0.0", None, True)
print("figures", json.dumps(out))
`;

const VERIFY = `${PRELUDE}
measure("heapVerify", envelope.verify, "/big.json", cfg["keys"], cfg["project"])
print("figures", json.dumps(out))
`;

let shipped: Record<string, Uint8Array> = {};

const run: Benchmark = async ({ progress }) => {
  shipped = await shippedMpotaPackage();
  const site = mkdtempSync(join(tmpdir(), "mpota-bench-update-"));
  const key = makeSigningKey();
  buildRelease(site, PROJECT, "1.0.0", exampleApp("1.0.0"), key);
  const v110 = exampleApp("1.1.0");
  v110["lib/sensors.py"] = `${v110["lib/sensors.py"]!.toString()}\n# calibrated 2026-11\n`;
  // with an update pack (and an envelope patch) from 1.0.0, as `mpota release` makes them from each of
  // the last 3 releases
  const envelope110 = buildRelease(site, PROJECT, "1.1.0", v110, key, {
    envelopePatchFrom: ["1.0.0"],
    packFrom: ["1.0.0"],
  });
  buildRelease(
    site,
    PROJECT,
    "1.0.1",
    exampleApp("1.0.1", { "assets/table.bin": randomBytes(10 * 1024) }),
    key,
  );
  buildRelease(
    site,
    PROJECT,
    "1.0.2",
    exampleApp("1.0.2", { "assets/table.bin": randomBytes(1024 * 1024) }),
    key,
  );
  const many: Record<string, string> = {};
  for (let i = 0; i < 1000; i++) many[`lib/gen/m${String(i).padStart(4, "0")}.py`] = `N = ${i}\n`;
  const bigEnvelope = buildRelease(site, PROJECT, "9.0.0", exampleApp("9.0.0", many), key);
  // The documented maximum: 10,000 files, in 100 folders.
  const most: Record<string, string> = {};
  for (let i = 0; i < 10_000 - Object.keys(exampleApp("9.1.0")).length; i++)
    most[`lib/gen${i % 100}/m${String(i).padStart(5, "0")}.py`] = `N = ${i}\n`;
  const mostEnvelope = buildRelease(site, PROJECT, "9.1.0", exampleApp("9.1.0", most), key);
  // stable moves on from 1.0.0, as a channel does release after release: its check answer brings the
  // update pack from 1.0.0 (docs/protocol.md, "Check answers").
  publishPointer(site, PROJECT, "stable", "1.0.0");
  for (const [channel, version] of Object.entries({
    same: "1.0.0",
    stable: "1.1.0",
    small: "1.0.1",
    big: "1.0.2",
  }))
    publishPointer(site, PROJECT, channel, version);
  const server = await startFaultServer({ root: site });

  const board = (channel: string, files: Record<string, Uint8Array | string> = {}, resetMode = "hard") => {
    const config = {
      project: PROJECT,
      keys: [key.publicHex],
      source: { type: "static", url: server.url, channel },
      reset_mode: resetMode,
    };
    return new VirtualDevice({ files: { ...bundledBoard(site, config, "1.0.0"), ...files } });
  };

  /** Runs `script` on `device`; -> its printed figures and the run's counters (requests seen by the server). */
  const measure = async (device: VirtualDevice, script: string) => {
    server.requests.length = 0;
    const r = await device.run({ script, boot: false, timeoutMs: 600_000 });
    if (!r.ok) throw new Error(`device run failed: ${r.error}\n${r.output}`);
    const line = r.output.split("\n").findLast((l) => l.startsWith("figures "));
    return {
      figures: JSON.parse(line!.slice(8)) as Record<string, number>,
      requests: server.requests.length,
      bytes: r.netBytesIn + r.netBytesOut,
      bytesIn: r.netBytesIn,
      bytesOut: r.netBytesOut,
      flashBytesWritten: r.flashBytesWritten,
    };
  };

  try {
    progress("no-update check");
    const idle = board("same");
    const first = await measure(idle, CHECK);
    const steady = await measure(idle, CHECK);
    await idle.close();

    progress("update 1.0.0 -> 1.1.0");
    const updating = board("stable");
    const update = await measure(updating, UPDATE);
    await updating.close();

    progress("mpota.update() 1.0.0 -> 1.1.0, as the app calls it");
    const whole = board("stable", {}, "none");
    const wholeRun = await measure(whole, WHOLE);
    await whole.close();
    if (wholeRun.figures.installed !== ("1.1.0" as unknown))
      throw new Error("mpota.update() did not install 1.1.0");

    progress("install of a 10 KB and a 1 MB file");
    const installs: Record<string, Awaited<ReturnType<typeof measure>>> = {};
    for (const channel of ["small", "big"]) {
      const device = board(channel);
      installs[channel] = await measure(device, UPDATE);
      await device.close();
    }

    progress("verify a 1,000-file envelope");
    const verifier = board("same", { "big.json": bigEnvelope });
    const verify1000 = await measure(verifier, VERIFY);
    await verifier.close();

    progress("verify a 10,000-file envelope");
    const verifier10k = board("same", { "big.json": mostEnvelope });
    const verify10000 = await measure(verifier10k, VERIFY);
    await verifier10k.close();

    const small = installs.small!.figures;
    const big = installs.big!.figures;
    return {
      noUpdateRequests: steady.requests,
      noUpdateBytes: steady.bytes,
      noUpdateBytesIn: steady.bytesIn,
      noUpdateBytesOut: steady.bytesOut,
      noUpdateFirstRequests: first.requests,
      noUpdateFirstBytes: first.bytes,
      updateRequests: update.requests,
      updateMs: wholeRun.figures.updateMs,
      updateBytes: update.bytes,
      flashBytesWritten: update.flashBytesWritten,
      heapImports: update.figures.heapImports,
      heapCheck: update.figures.heapCheck,
      heapNoUpdateCheck: steady.figures.heapCheck,
      heapFetchAndVerify: update.figures.heapFetch,
      heapVerify: update.figures.heapVerify,
      heapInstall: update.figures.heapInstall,
      heapInstall10KB: small.heapInstall,
      heapInstall1MB: big.heapInstall,
      heapGrowth1MBvs10KB: Number((big.heapInstall! / small.heapInstall!).toFixed(3)),
      verifyMs: update.figures.heapVerifyMs,
      envelopeBytes: envelope110.length,
      verify1000FilesMs: verify1000.figures.heapVerifyMs,
      verify1000FilesEnvelopeBytes: bigEnvelope.length,
      heapVerify1000Files: verify1000.figures.heapVerify,
      verify10000FilesMs: verify10000.figures.heapVerifyMs,
      verify10000FilesEnvelopeBytes: mostEnvelope.length,
    };
  } finally {
    await server.close();
    rmSync(site, { recursive: true, force: true });
  }
};

export default run;
