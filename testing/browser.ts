/**
 * Test support: Debian's Chromium driven by playwright-core (never a downloaded browser). Each
 * browser gets a fresh profile folder, removed when it closes. Without Chromium the tests fail with
 * what to install: `apt-get install -y chromium` (`.ci/run` does it in CI).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/** MPOTA_CHROMIUM overrides where Chromium is looked for. */
export const CHROMIUM = process.env.MPOTA_CHROMIUM ?? "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Throws, saying what to install, when there is no Chromium (in CI as anywhere: no test is skipped). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `the dashboard's browser tests need Chromium at ${CHROMIUM}: install it with ` +
        "`apt-get install -y chromium` (Debian/Ubuntu) or point MPOTA_CHROMIUM at one",
    );
}

/** A headless Chromium with a fresh profile (so fresh cookies and storage). */
export async function launchBrowser(options: { width?: number; height?: number } = {}): Promise<Browser> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), "mpota-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: options.width ?? 1280, height: options.height ?? 860 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
