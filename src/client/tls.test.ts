/**
 * Updates over https: a test CA made with the openssl CLI at test time, a TLS static site on loopback,
 * boards that trust that CA (baked into the firmware, or as a file named by the config's "ca") and
 * boards that must refuse the server (another CA, another name).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualDevice } from "../sim/index.ts";
import { type FaultServer, startFaultServer } from "./fault-proxy.ts";
import { currentState } from "./state-record.ts";
import {
  buildRelease,
  bundledBoard,
  makeSigningKey,
  printed,
  publishPointer,
  runCommand,
  sameTree,
  slotTree,
  testApp,
} from "./testkit.ts";

const PROJECT = "greenhouse";
const key = makeSigningKey();
const dir = mkdtempSync(join(tmpdir(), "mpota-tls-"));
const site = join(dir, "site");
let server: FaultServer;
let ca: string;
let otherCa: string;

const v100 = testApp("1.0.0");
const v110 = testApp("1.1.0", { "lib/extra.py": "X = 1\n" });

/** A CA (key + self-signed certificate) named `name` in `dir`. */
function makeCa(name: string): string {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-subj",
    `/CN=${name}`,
    "-days",
    "2",
  );
  return readFileSync(join(dir, `${name}.pem`), "utf8");
}

/** A server certificate for ota.example signed by the CA `caName`. */
function makeServerCert(caName: string): { key: string; cert: string } {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:ota.example\n");
  openssl(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=ota.example",
  );
  openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    `${caName}.pem`,
    "-CAkey",
    `${caName}.key`,
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "san.ext",
  );
  return {
    key: readFileSync(join(dir, "server.key"), "utf8"),
    cert: readFileSync(join(dir, "server.pem"), "utf8"),
  };
}

beforeAll(async () => {
  ca = makeCa("test-ca");
  otherCa = makeCa("other-ca");
  buildRelease(site, PROJECT, "1.0.0", v100, key);
  buildRelease(site, PROJECT, "1.1.0", v110, key);
  publishPointer(site, PROJECT, "stable", "1.1.0");
  server = await startFaultServer({ root: site, tls: makeServerCert("test-ca") });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const HOSTS = { "ota.example": "127.0.0.1", "wrong.example": "127.0.0.1" };

function board(options: { host?: string; firmwareCa?: string; caFile?: string }) {
  const config = {
    project: PROJECT,
    keys: [key.publicHex],
    source: {
      type: "static",
      url: `https://${options.host ?? "ota.example"}:${server.port}/`,
      channel: "stable",
    },
    timeout_s: 2,
    retries: 0,
    ca: options.caFile ? "/ca.pem" : null,
  };
  const files = bundledBoard(site, config, "1.0.0");
  if (options.caFile) files["ca.pem"] = options.caFile;
  return new VirtualDevice({ files, hosts: HOSTS, tlsCa: options.firmwareCa });
}

describe("https", () => {
  it.each([
    ["the CA the firmware trusts", false],
    ["the CA file the config names", true],
  ])("installs an update from a server whose certificate chains to %s", async (_name, useFile) => {
    // With the file, the firmware trusts another CA: only the file can make this work.
    const device = board(useFile ? { caFile: ca, firmwareCa: otherCa } : { firmwareCa: ca });
    try {
      const r = await runCommand(device, "update");
      expect(r.output).toContain("running 1.1.0");
      expect(sameTree(slotTree(device.files(), 1), v110)).toBe(true);
      expect(server.requests.at(-1)!.headers.host).toBe(`ota.example:${server.port}`);
    } finally {
      await device.close();
    }
  });

  it("refuses a redirect from https to plain http", async () => {
    const device = board({ firmwareCa: ca });
    server.rules.push({
      path: `/${PROJECT}/channels/stable.json`,
      fault: { kind: "redirect", to: `http://ota.example:${server.port}/${PROJECT}/channels/stable.json` },
    });
    try {
      const r = await runCommand(device, "update");
      expect(printed(r.output, "update").error).toEqual({
        code: "redirect",
        message: `https://ota.example:${server.port}/${PROJECT}/channels/stable.json: refused a redirect from https to http`,
      });
    } finally {
      server.rules.length = 0;
      await device.close();
    }
  });

  it.each([
    ["another CA", "other", "ota.example"],
    ["another name", "test", "wrong.example"],
  ])("refuses a certificate for %s, changing nothing", async (_name, trusts, host) => {
    const device = board({ host, firmwareCa: trusts === "test" ? ca : otherCa });
    try {
      const before = device.files();
      const r = await runCommand(device, "update");
      expect(printed(r.output, "update")).toEqual({
        ok: false,
        error: { code: "tls", message: `${host}: the server's certificate is not trusted` },
      });
      expect(currentState(device.files())).toEqual(currentState(before));
    } finally {
      await device.close();
    }
  });
});
