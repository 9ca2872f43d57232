/**
 * Makes the screenshots of docs/dashboard.md: a server with the demo fleet half-way through its
 * rollout, one waiting enrolment, and each page in Chromium. Run it again after changing a page:
 *   npx tsx testing/screenshots.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startDemo } from "../src/demo-fleet/index.ts";
import { AdminClient } from "../src/server/admin-client.ts";
import { serve } from "../src/server/serve.ts";
import { launchBrowser } from "./browser.ts";

const OUT = resolve(import.meta.dirname, "../docs/dashboard");

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), "mpota-screenshots-"));
  const server = await serve({ port: 0, host: "127.0.0.1", data, limits: { checkinIntervalMs: 0 } });
  const demo = startDemo({
    url: server.url,
    data,
    boards: 5,
    intervalSeconds: 1,
    stepWaitSeconds: 20,
    steps: [20, 60, 100],
    say: (line) => process.stderr.write(`${line}\n`),
  });
  const browser = await launchBrowser({ width: 1100, height: 720 });
  try {
    await demo.ready;
    const client = new AdminClient(server.url, server.adminToken!);
    const { token } = await client.request<{ token: string }>("POST", "/projects/greenhouse/enrolment-token");
    await fetch(`${server.url}/d/greenhouse/enrol`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ deviceId: "greenhouse-new", token }),
    });
    await client.request("POST", "/tokens", { name: "viewer", role: "read-only" });
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(`${server.url}/`);
    await page.getByLabel("Admin or read-only token").fill("mpa_…");
    await page.screenshot({ path: join(OUT, "sign-in.png") });
    await page.getByLabel("Admin or read-only token").fill(server.adminToken!);
    await page.getByRole("button", { name: "Sign in" }).click();
    // half-way: the rollout's second step, some boards on 1.1.0
    await page.locator("#channels", { hasText: "step 2 of 3" }).waitFor({ timeout: 120_000 });
    // a board that has updated, so its timeline has a story
    const updated = await client.request<{ devices: { id: string }[] }>(
      "GET",
      "/projects/greenhouse/devices?version=1.1.0&limit=1",
    );
    const shots: Array<[string, string]> = [
      ["fleet", "#running"],
      ["rollouts", "article"],
      ["devices", "#devices"],
      [`device/${updated.devices[0]?.id ?? "greenhouse-01"}`, ".timeline"],
      ["releases", "#files"],
      ["audit", "#audit"],
      ["tokens", "#tokens"],
    ];
    for (const [path, ready] of shots) {
      await page.goto(`${server.url}/#/${path}`);
      await page.locator(ready).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(OUT, `${path.split("/")[0]}.png`) });
    }
  } finally {
    await browser.close();
    await demo.stop();
    await server.close();
    rmSync(data, { recursive: true, force: true });
  }
}

await main();
