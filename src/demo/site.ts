/**
 * The demo's update site: a signing key, a release store and a static site in one temporary folder,
 * the site served on 127.0.0.1, and boards set up for it as `mpota device bundle` does.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFiles, releaseFrom } from "../client/bundle.ts";
import { configJson, configProblems, type OtaConfig } from "../config/index.ts";
import { generateKeyPair, type SigningKey } from "../manifest/index.ts";
import type { BuiltRelease } from "../release/index.ts";
import {
  publishStatic,
  type ServedRequest,
  type StaticPublishResult,
  type StaticServer,
  serveStatic,
} from "../static/index.ts";
import { openStore, type ReleaseStore } from "../store/index.ts";
import { EXAMPLE_PROJECT, type ExampleVariant, exampleRelease } from "./example.ts";

export const DEMO_CHANNEL = "stable";

export interface DemoSite {
  /** Where boards find the site (the config's source.url). */
  url: string;
  /** The served folder. */
  root: string;
  key: SigningKey;
  store: ReleaseStore;
  release: (version: string, variant: ExampleVariant) => Promise<BuiltRelease>;
  /** Publishes a stored release to the site and points the channel at it. */
  publish: (version: string) => StaticPublishResult;
  /** A board's flash with `version` in slot 0 and a config following the channel. */
  board: (version: string) => Record<string, Uint8Array>;
  /** Closes the server and removes the folder. */
  close: () => Promise<void>;
}

/** Opens the site; `onServe` hears of every request a board makes, as it is answered. */
export async function openDemoSite(onServe: (request: ServedRequest) => void): Promise<DemoSite> {
  const dir = mkdtempSync(join(tmpdir(), "mpota-demo-site-"));
  const site = join(dir, "site");
  const store = openStore(join(dir, "store"));
  const key = generateKeyPair();
  let server: StaticServer;
  try {
    server = await serveStatic(site, { onServe });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const config: OtaConfig = {
    project: EXAMPLE_PROJECT,
    keys: [key.publicKeyHex],
    source: { type: "static", url: `${server.url}/`, channel: DEMO_CHANNEL },
    reset_mode: "hard",
    trial: { max_boots: 3, watchdog_ms: 0, auto_confirm_s: 0 },
  };
  const problems = configProblems(config);
  if (problems.length > 0) throw new Error(`the demo's board config is wrong: ${problems.join("; ")}`);
  return {
    url: server.url,
    root: site,
    key,
    store,
    release: (version, variant) => exampleRelease(store, key, version, variant),
    publish: (version) =>
      publishStatic({ site, store, project: EXAMPLE_PROJECT, version, channel: DEMO_CHANNEL, key }),
    board: (version) =>
      bundleFiles({
        config,
        configJson: configJson(config),
        release: releaseFrom(join(dir, "store"), EXAMPLE_PROJECT, version),
      }).files,
    close: async () => {
      try {
        await server.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
