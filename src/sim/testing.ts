/**
 * Helpers for tests that run code on virtual devices: loopback servers, a throwaway certificate
 * authority, a way to close every device a test made, and time limits scaled to a busy machine.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DeviceOptions, VirtualDevice } from "./device.ts";

/**
 * A time limit for a test, scaled by how busy vitest.config.ts measured the machine at the start
 * (MPOTA_TEST_BUSY; 1 outside the suite, e.g. in a benchmark).
 */
export function scaled(ms: number): number {
  return ms * (Number(process.env.MPOTA_TEST_BUSY) || 1);
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
