/**
 * Helpers for tests that run code on virtual devices: loopback servers, a throwaway certificate
 * authority, a way to close every device a test made, and time limits scaled to a busy machine.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DeviceOptions, VirtualDevice } from "../src/sim/device.ts";

/**
 * How busy the machine is now: wall time over CPU time of a short hashing loop (1 on an idle
 * machine, ~3 when other work takes two thirds of the cores), at most 10.
 */
export function busyFactor(): number {
  const data = Buffer.alloc(1 << 20);
  const wall = performance.now();
  const cpu = process.cpuUsage();
  let cpuMs = 0;
  while (cpuMs < 100) {
    createHash("sha256").update(data).digest();
    const used = process.cpuUsage(cpu);
    cpuMs = (used.user + used.system) / 1000;
  }
  return Math.min(10, Math.max(1, Math.round(((performance.now() - wall) / cpuMs) * 10) / 10));
}

let busyNow: number | undefined;

/**
 * A time limit for a test, scaled by how busy the machine is: the larger of what vitest.config.ts
 * measured at the start of the suite (MPOTA_TEST_BUSY) and what this test file measures when it
 * first asks (load that rose during a long suite counts too). 1 outside the suite (a benchmark).
 */
export function scaled(ms: number): number {
  const atStart = Number(process.env.MPOTA_TEST_BUSY);
  if (!atStart) return ms;
  busyNow ??= busyFactor();
  return Math.round(ms * Math.max(atStart, busyNow));
}

/** Starts `server` on 127.0.0.1 at a free port; returns the port. */
export async function listenLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if ("closeAllConnections" in server)
      (server as { closeAllConnections: () => void }).closeAllConnections();
    server.close(() => resolve());
  });
}

/** Devices made through `device()` are closed together by `closeAll()` (call it in afterEach). */
export function deviceTracker(): {
  device: (options?: DeviceOptions) => VirtualDevice;
  closeAll: () => Promise<void>;
} {
  const open: VirtualDevice[] = [];
  return {
    device: (options) => {
      const dev = new VirtualDevice(options);
      open.push(dev);
      return dev;
    },
    closeAll: async () => {
      await Promise.all(open.splice(0).map((dev) => dev.close()));
    },
  };
}

export interface TestPki {
  /** The CA that signed `cert` (PEM). */
  ca: string;
  /** A second CA that signed nothing the server presents (PEM). */
  otherCa: string;
  /** Server certificate for `localhost` and 127.0.0.1, and its key (PEM). */
  cert: string;
  key: string;
}

/** Makes a CA and a server certificate with the openssl CLI (P-256 keys: fast). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "mpota-pki-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    for (const name of ["ca", "other-ca"]) {
      run(
        "req",
        "-x509",
        ...ec,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-subj",
        `/CN=mpota test ${name}`,
      );
    }
    run("req", "-new", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
    writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    run(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "san.ext",
    );
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    return {
      ca: read("ca.pem"),
      otherCa: read("other-ca.pem"),
      cert: read("server.pem"),
      key: read("server.key"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
