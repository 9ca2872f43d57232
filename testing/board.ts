/**
 * Helpers for tests and benchmarks of the device client: the device files as flash trees, and runs of
 * device code on a virtual board.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFiles, loaderSource, mpotaPackage, releaseFrom } from "../src/client/bundle.ts";
import { encodeStateRecord, type StateRecord } from "../src/client/state-record.ts";
import { makeEnvelopePatch } from "../src/delta/index.ts";
import {
  channelPointer,
  comparePaths,
  envelopeBytes,
  generateKeyPair,
  type SigningKey as ManifestKey,
  sha256Hex,
  signEnvelope,
} from "../src/manifest/index.ts";
import { type DeviceOptions, type RunOptions, type RunResult, VirtualDevice } from "../src/sim/index.ts";
import { sitePaths, writeChannel } from "../src/static/index.ts";
import { compressBlob } from "../src/store/index.ts";
import { type FaultServerOptions, startFaultServer } from "./fault-proxy.ts";
import { writeSitePack } from "./pack.ts";
import { deviceTracker } from "./sim.ts";

/** The device package as a release carries it (lib/mpota/). */
export function devicePackage(prefix = "lib/mpota/"): Record<string, Uint8Array> {
  return mpotaPackage(prefix);
}

/**
 * Runs `script` on a board whose flash holds only the mpota package (in /lib, on sys.path) plus `files`;
 * the script's last printed line is parsed as JSON. For testing device modules on their own.
 */
export async function runDeviceScript(
  script: string,
  files: Record<string, Uint8Array | string> = {},
  timeoutMs = 30_000,
): Promise<{ value: unknown; output: string }> {
  const device = new VirtualDevice({ files: { ...devicePackage(), ...files }, net: false });
  try {
    const result = await device.run({ script, boot: false, timeoutMs });
    if (!result.ok) throw new Error(`device script failed: ${result.error}\n${result.output}`);
    const lines = result.output.trim().split("\n");
    return { value: JSON.parse(lines[lines.length - 1]!), output: result.output };
  } finally {
    await device.close();
  }
}

type Tree = Record<string, Uint8Array | string>;

/** An app release tree: main.py (`main`), the mpota package in lib/mpota/, and `extra` files. */
export function appTree(main: string, extra: Tree = {}): Record<string, Uint8Array> {
  const tree: Record<string, Uint8Array> = { ...devicePackage(), "main.py": Buffer.from(main) };
  for (const [path, data] of Object.entries(extra))
    tree[path] = typeof data === "string" ? Buffer.from(data) : data;
  return tree;
}

/** A board's flash: the loader, the config, the slots' trees and a state record. */
export function boardTree(options: {
  slots: [Tree | null, Tree | null];
  record: StateRecord;
  config?: unknown;
  files?: Tree;
}): Tree {
  const tree: Tree = { "boot.py": loaderSource(), ...options.files };
  if (options.config !== undefined) tree["ota_config.json"] = JSON.stringify(options.config);
  options.slots.forEach((slot, i) => {
    for (const [path, data] of Object.entries(slot ?? {})) tree[`.mpota/slot${i}/${path}`] = data;
  });
  tree[".mpota/state.a"] = encodeStateRecord(options.record);
  return tree;
}

/** The files of one slot in a flash tree, by their path inside the slot. */
export function slotTree(files: Record<string, Uint8Array>, slot: 0 | 1): Record<string, Uint8Array> {
  const prefix = `.mpota/slot${slot}/`;
  const out: Record<string, Uint8Array> = {};
  for (const [path, data] of Object.entries(files)) {
    if (path.startsWith(prefix) && !path.endsWith("/")) out[path.slice(prefix.length)] = data;
  }
  return out;
}

/** The same files with the same bytes (trees as `slotTree` returns them). */
export function sameTree(a: Record<string, Uint8Array>, b: Record<string, Uint8Array | string>): boolean {
  const keys = Object.keys(a).sort();
  if (keys.join("\n") !== Object.keys(b).sort().join("\n")) return false;
  return keys.every((k) => Buffer.from(a[k]!).equals(Buffer.from(b[k]!)));
}

// ---------------------------------------------------------------------------------------------------
// Releases written straight into a static site (docs/protocol.md layout) with src/manifest, from
// in-memory trees: tests need odd releases quickly (a crashing main.py, rollback flags, hooks).

/** A release key: src/manifest's, plus the names the device tests use. */
export interface SigningKey extends ManifestKey {
  /** Raw 32-byte public key, lowercase hex: what ota_config.json lists in `keys`. */
  publicHex: string;
  keyid: string;
}

export function makeSigningKey(): SigningKey {
  const key = generateKeyPair();
  return { ...key, publicHex: key.publicKeyHex, keyid: key.keyId };
}

export interface ReleaseOptions {
  rollback?: boolean;
  /** The manifest's rollback_from: the releases a board may leave for this rollback release. */
  rollbackFrom?: string[];
  hooks?: { post_update?: string; rollback?: string };
  created?: string;
  minLoader?: number;
  /** Earlier versions in the site whose envelopes get a patch to this one (as `mpota release` makes them). */
  envelopePatchFrom?: string[];
  /** Earlier versions in the site with an update pack to this one (testing/pack.ts). */
  packFrom?: string[];
}

/** Writes release `version` of `tree` into the static site `site` (envelope and blobs); returns the envelope. */
export function buildRelease(
  site: string,
  project: string,
  version: string,
  tree: Record<string, Uint8Array | string>,
  key: SigningKey,
  options: ReleaseOptions = {},
): Buffer {
  const paths = sitePaths(site, project);
  mkdirSync(join(paths.root, "blobs"), { recursive: true });
  mkdirSync(join(paths.root, "releases"), { recursive: true });
  mkdirSync(join(paths.root, "patches"), { recursive: true });
  const files = Object.keys(tree)
    .sort(comparePaths)
    .map((path) => {
      const data = Buffer.from(tree[path]!);
      const hash = sha256Hex(data);
      const blob = compressBlob(data);
      writeFileSync(paths.blob(hash), blob);
      return { blobs: { patches: [], zlib: blob.length }, path, sha256: hash, size: data.length };
    });
  const signed = {
    created: options.created ?? "2026-11-23T06:00:00Z",
    files,
    format: 1,
    ...(options.hooks && { hooks: options.hooks }),
    ...(options.minLoader !== undefined && { min_loader: options.minLoader }),
    project,
    ...(options.rollback !== undefined && { rollback: options.rollback }),
    ...(options.rollbackFrom !== undefined && { rollback_from: options.rollbackFrom }),
    version,
  };
  const envelope = envelopeBytes(signEnvelope(signed, key));
  for (const from of options.envelopePatchFrom ?? []) {
    const old = readFileSync(paths.release(from));
    const patch = makeEnvelopePatch(old, envelope);
    if (patch) writeFileSync(paths.patch(sha256Hex(old), sha256Hex(envelope)), patch);
  }
  writeFileSync(paths.release(version), envelope);
  for (const from of options.packFrom ?? []) writeSitePack(site, project, from, version);
  return envelope;
}

/**
 * Points `channel` at a release already in the site, as `mpota publish --static` does: its check answer
 * (with the site's update pack from the release before), then the pointer, each by rename.
 */
export function publishPointer(site: string, project: string, channel: string, version: string): void {
  const paths = sitePaths(site, project);
  const envelope = readFileSync(paths.release(version));
  const pointer = envelopeBytes({
    signed: channelPointer({ channel, project, version, envelope }),
    signatures: [],
  });
  writeChannel(paths, channel, pointer);
}

export { type ServedRequest, type StaticServer, serveStatic } from "../src/static/serve.ts";

/**
 * The end of a test app's main.py (after `import mpota, json, os`): carries out the one-shot command in
 * /data/cmd ("update", "update-force", "check", "confirm", "rollback": mpota's functions), printing
 * `<cmd> <json result>` ("update" for "update-force"). The command file is removed first, so the next
 * boot does not repeat it.
 */
export const COMMAND_PY = `try:
    with open("/data/cmd") as f:
        cmd = f.read()
    os.remove("/data/cmd")
except OSError:
    cmd = ""
if cmd == "update-force":
    print("update", json.dumps(mpota.update(force=True)))
elif cmd:
    print(cmd, json.dumps(getattr(mpota, cmd)()))
`;

/** A test app: says which version runs and prints its status at each boot, then runs COMMAND_PY. */
export function testApp(version: string, extra: Tree = {}): Record<string, Uint8Array> {
  const main = `import mpota, json, os
print("running ${version}")
print("status", json.dumps(mpota.status()))
${COMMAND_PY}`;
  return appTree(main, extra);
}

/** The JSON a device printed last after `name ` (as testApp prints results). */
// biome-ignore lint/suspicious/noExplicitAny: device output, checked by the tests that read it
export function printed(output: string, name: string): any {
  const line = output.split("\n").findLast((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : JSON.parse(line.slice(name.length + 1));
}

/** A board as `mpota device bundle` sets it up, with `version` of the site's release in slot 0. */
export function bundledBoard(
  site: string,
  config: { project: string; keys: string[] },
  version?: string,
): Tree {
  const release = version ? releaseFrom(site, config.project, version) : undefined;
  return bundleFiles({
    config,
    configJson: JSON.stringify(config),
    mpotaPackage: devicePackage(),
    release,
  }).files;
}

/** Leaves a one-shot command for testApp in /data/cmd, then boots the board (first boot runs it). */
export async function runCommand(
  device: VirtualDevice,
  cmd: string,
  options: RunOptions = {},
): Promise<RunResult> {
  const wrote = await device.run({
    boot: false,
    script: `with open("/data/cmd", "w") as f:\n    f.write(${JSON.stringify(cmd)})`,
  });
  if (!wrote.ok) throw new Error(`could not leave the command: ${wrote.error}`);
  return device.run(options);
}

/** What a staticFixture serves its site with: serveStatic, or a fault-proxy server over the folder. */
export interface SiteServer {
  url: string;
  close: () => Promise<void>;
}

/** Settings a board config adds to or changes in the fixture's static source (`source` is merged). */
export type ConfigExtra = { source?: Record<string, unknown> } & Record<string, unknown>;

export interface StaticFixture<S extends SiteServer> {
  project: string;
  key: SigningKey;
  /** A throwaway folder, removed by close(); the site is its "site" subfolder. */
  dir: string;
  site: string;
  /** Where the project's files sit in the site folder. */
  paths: ReturnType<typeof sitePaths>;
  /**
   * The path a board requests for the project's `channel` (for server rules and requests): its check
   * answer (`.up`, the pointer with an update pack), which a board asks for first.
   */
  channelPath: (channel: string) => string;
  /** The path a board requests for the envelope of release `version`. */
  releasePath: (version: string) => string;
  /** The site's server, once start() has run. */
  readonly server: S;
  /** Starts the server (call in beforeAll). */
  start: () => Promise<S>;
  /** A board config: project "greenhouse", the fixture's key, the site's `channel` (see ConfigExtra). */
  config: (channel: string, extra?: ConfigExtra) => { project: string; keys: string[]; [k: string]: unknown };
  /** buildRelease into the site, for the project, signed with the fixture's key. */
  release: (version: string, tree: Tree, options?: ReleaseOptions) => Buffer;
  /** publishPointer in the site, for the project. */
  publish: (channel: string, version: string) => void;
  /** bundledBoard from the site: a board with `config`, and `version` in slot 0 when given. */
  boardFiles: (config: { project: string; keys: string[] }, version?: string) => Tree;
  /** A virtual device that closeBoards() closes. */
  board: (files: Tree, options?: DeviceOptions) => VirtualDevice;
  /** Closes the boards made so far (call in afterEach). */
  closeBoards: () => Promise<void>;
  /** Closes the server and removes the folder (call in afterAll). */
  close: () => Promise<void>;
}

/**
 * The setting of the update tests: project "greenhouse" with a fresh release key, a static site in a
 * throwaway folder served on loopback by `serve`, board configs for it and boards closed in one go.
 */
export function staticFixture<S extends SiteServer>(serve: (site: string) => Promise<S>): StaticFixture<S> {
  const dir = mkdtempSync(join(tmpdir(), "mpota-site-"));
  const site = join(dir, "site");
  mkdirSync(site);
  const boards = deviceTracker();
  const project = "greenhouse";
  let server: S | undefined;
  const started = (): S => {
    if (!server) throw new Error("staticFixture: start() has not run");
    return server;
  };
  const fixture: StaticFixture<S> = {
    project,
    key: makeSigningKey(),
    dir,
    site,
    paths: sitePaths(site, project),
    channelPath: (channel) => `/${project}/channels/${channel}.up`,
    releasePath: (version) => `/${project}/releases/${version}.json`,
    get server() {
      return started();
    },
    start: async () => {
      server = await serve(site);
      return server;
    },
    config: (channel, { source, ...extra } = {}) => ({
      project: fixture.project,
      keys: [fixture.key.publicHex],
      source: { type: "static", url: started().url, channel, ...source },
      ...extra,
    }),
    release: (version, tree, options) =>
      buildRelease(site, fixture.project, version, tree, fixture.key, options),
    publish: (channel, version) => publishPointer(site, fixture.project, channel, version),
    boardFiles: (config, version) => bundledBoard(site, config, version),
    board: (files, options = {}) => boards.device({ files, ...options }),
    closeBoards: boards.closeAll,
    close: async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** A staticFixture whose site a fault-proxy server serves (rules and requests in `fixture.server`). */
export const faultFixture = (options: Omit<FaultServerOptions, "root" | "upstream"> = {}) =>
  staticFixture((root) => startFaultServer({ ...options, root }));
