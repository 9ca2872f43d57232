/**
 * The dashboard in real Chromium against a real server running the demo fleet (virtual boards
 * checking in, a staged rollout): signing in and out, a wrong token, the fleet moving live, a
 * rollout started, paused and resumed, an enrolment accepted, a read-only session without write
 * controls, and an axe-core check of every page.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningDemo, startDemo } from "../src/demo-fleet/index.ts";
import { AdminClient, publishRelease } from "../src/server/admin-client.ts";
import { type RunningServer, serve } from "../src/server/serve.ts";
import { type Browser, launchBrowser, requireChromium } from "../testing/browser.ts";
import { testKey, testProject, testRelease } from "../testing/release.ts";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const data = mkdtempSync(join(tmpdir(), "mpota-dashboard-"));
let server: RunningServer;
let demo: RunningDemo;
let client: AdminClient;
let viewerToken: string;
const browsers: Browser[] = [];
/** Uncaught errors in any page: none is expected. */
const pageErrors: string[] = [];

beforeAll(async () => {
  requireChromium();
  server = await serve({ port: 0, host: "127.0.0.1", data, limits: { checkinIntervalMs: 0 } });
  client = new AdminClient(server.url, server.adminToken!);
  demo = startDemo({
    url: server.url,
    data,
    boards: 3,
    intervalSeconds: 1,
    stepWaitSeconds: 2,
    steps: [50, 100],
    say: () => {},
  });
  await demo.ready;
  viewerToken = (
    await client.request<{ token: string }>("POST", "/tokens", { name: "viewer", role: "read-only" })
  ).token;
});

afterAll(async () => {
  for (const b of browsers) await b.close();
  await demo?.stop();
  await server?.close();
  rmSync(data, { recursive: true, force: true });
});

/** A fresh browser (own profile, so own cookies) on the dashboard, signed in with `token` if given. */
async function openDashboard(token?: string): Promise<Page> {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on("pageerror", (err) => pageErrors.push(`${page.url()}: ${err.message}`));
  await page.goto(`${server.url}/`);
  if (token) {
    await page.getByLabel("Admin or read-only token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Fleet", level: 1 }).waitFor();
  }
  return page;
}

/** Serious and critical axe-core findings on the page as it is now. */
async function axeProblems(page: Page): Promise<string[]> {
  // evaluated through the DevTools protocol, so the page's Content-Security-Policy stays as served
  await page.evaluate(AXE);
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe("the dashboard in Chromium", () => {
  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it("refuses a wrong token and sets no cookie", async () => {
    const page = await openDashboard();
    await page.getByLabel("Admin or read-only token").fill("mpa_not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("unknown admin token");
    expect(await page.context().cookies()).toEqual([]);
    expect(await page.getByRole("navigation", { name: "Pages" }).count()).toBe(0);
  });

  it("signs in to an httpOnly SameSite=Strict session (no token in storage or URL) and out again", async () => {
    const page = await openDashboard(server.adminToken);
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: "mpota_session",
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
    });
    expect(cookies[0]!.value).not.toContain(server.adminToken!);
    const stored = await page.evaluate(
      "JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}, location.href])",
    );
    expect(stored).not.toContain(server.adminToken!);
    expect(stored).not.toContain("mpota_session");
    await expect.poll(() => page.locator("header .who").textContent()).toBe("bootstrap (admin)");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Admin or read-only token").waitFor();
    expect(await page.context().cookies()).toEqual([]);
    const after = await page.evaluate("fetch('/api/v1/projects').then((r) => r.status)");
    expect(after).toBe(401);
  });

  it("shows the demo fleet moving to 1.1.0 live, without reloading the page", async () => {
    const page = await openDashboard(server.adminToken);
    await page.evaluate("window.sameDocument = true");
    const total = () => page.locator(".card").first().textContent();
    await expect.poll(total).toBe("3devices");
    // a change made elsewhere (here: the API) reaches the open page by itself
    await client.request("POST", "/projects/greenhouse/devices", { id: "provisioned-meanwhile" });
    await expect.poll(total, { timeout: 15_000 }).toBe("4devices");
    const running = page.locator("#running");
    // every board on 1.1.0 and confirmed, as the demo's rollout goes through its steps
    await expect
      .poll(() => running.textContent(), { timeout: 90_000, interval: 250 })
      .toMatch(/^release\s*state\s*devices\s*1\.1\.0\s*good\s*3\s*not checked in\s*-\s*1$/);
    expect(await page.evaluate("window.sameDocument")).toBe(true);
    await expect.poll(() => page.locator("header .live").textContent()).toBe("live");
    expect(await page.locator("figure.chart").count()).toBe(2);
    expect(await page.locator("figure.chart canvas").count()).toBe(2);
  }, 120_000);

  it("starts a rollout, pauses, resumes and aborts it", async () => {
    const page = await openDashboard(server.adminToken);
    await page.getByRole("link", { name: "Rollouts" }).click();
    await page.getByLabel("Channel").fill("beta");
    await page.getByLabel("Release").selectOption("1.1.0");
    await page.getByLabel("Steps (%)").fill("50, 100");
    await page.getByRole("button", { name: "Start rollout" }).click();
    const card = page.getByRole("article", { name: "rollout to 1.1.0 on beta" });
    await card.getByRole("button", { name: "Pause" }).click();
    await expect.poll(() => card.locator(".reason").textContent()).toBe("Paused: paused by token:bootstrap");
    const rollouts = async () =>
      (
        await client.request<{ rollouts: { channel: string; state: string }[] }>(
          "GET",
          "/projects/greenhouse/rollouts",
        )
      ).rollouts.find((r) => r.channel === "beta")?.state;
    expect(await rollouts()).toBe("paused");
    await card.getByRole("button", { name: "Resume" }).click();
    await card.getByRole("button", { name: "Pause" }).waitFor();
    expect(await rollouts()).toBe("running");
    expect(await card.locator("h3").textContent()).toBe("beta: nothing → 1.1.0 running");
    page.once("dialog", (dialog) => void dialog.accept());
    await card.getByRole("button", { name: "Abort" }).click();
    await expect.poll(() => card.locator("h3").textContent()).toBe("beta: nothing → 1.1.0 aborted");
    expect(await rollouts()).toBe("aborted");
    expect(await card.getByRole("button").count()).toBe(0);
  });

  it("says why a rollout paused itself, in another project chosen in the header", async () => {
    // project orchard: one board, a rollout of 2.0.0 to all of it, and the board reports a failure
    const key = testKey();
    await testProject(client, "orchard", key, "1.0.0", { "main.py": "print(1)\n" });
    await publishRelease(client, testRelease("orchard", "2.0.0", { "main.py": "print(2)\n" }, key).files, {
      project: "orchard",
    });
    const { token } = await client.request<{ token: string }>("POST", "/projects/orchard/devices", {
      id: "tree-1",
    });
    await client.request("POST", "/projects/orchard/rollouts", {
      channel: "stable",
      version: "2.0.0",
      steps: [100],
      failurePercent: 10,
    });
    const board = { authorization: `Bearer ${token}`, "x-mpota-device": "tree-1" };
    const checkIn = await fetch(`${server.url}/d/orchard/channels/stable.json?version=1.0.0&state=good`, {
      headers: board,
    });
    expect(checkIn.status).toBe(200);
    const report = await fetch(`${server.url}/d/orchard/reports`, {
      method: "POST",
      headers: { ...board, "content-type": "application/json" },
      body: JSON.stringify({ version: "2.0.0", event: "failed", error: "main.py: crashed" }),
    });
    expect(report.status).toBe(204);

    const page = await openDashboard(server.adminToken);
    await page.getByRole("link", { name: "Rollouts" }).click();
    await page.getByLabel("Project").selectOption("orchard");
    const card = page.getByRole("article", { name: "rollout to 2.0.0 on stable" });
    await expect
      .poll(() => card.locator(".reason").textContent(), { timeout: 15_000 })
      .toBe("Paused: 1 of 1 devices failed or rolled back (threshold 10%)");
    await card.getByRole("button", { name: "Resume" }).waitFor();
    await page.goto(`${server.url}/#/device/tree-1`);
    await expect
      .poll(() => page.locator("dl.facts").textContent())
      .toContain("last error2.0.0: main.py: crashed");
  });

  it("accepts a pending enrolment", async () => {
    await client.request("POST", "/projects/greenhouse/enrolment-token").then(async ({ token }) => {
      const res = await fetch(`${server.url}/d/greenhouse/enrol`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ deviceId: "new-board", token }),
      });
      expect(res.status).toBe(201);
    });
    const page = await openDashboard(server.adminToken);
    await page.getByRole("link", { name: "Devices" }).click();
    await page.getByRole("button", { name: "Accept new-board" }).click();
    await page.getByRole("heading", { name: /Waiting for approval/ }).waitFor({ state: "detached" });
    const device = await client.request<{ status: string }>("GET", "/projects/greenhouse/devices/new-board");
    expect(device.status).toBe("active");
  });

  it("finds a device and changes its tags and pin from its page", async () => {
    const page = await openDashboard(server.adminToken);
    await page.getByRole("link", { name: "Devices" }).click();
    await page.getByLabel("Device id").fill("HOUSE-02");
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => page.locator("p.count").textContent()).toBe("1–1 of 1 devices");
    await page.getByRole("link", { name: "greenhouse-02" }).click();
    await page.getByLabel("Tags (space-separated)").fill("north shelf-2");
    await page.getByRole("button", { name: "Save tags" }).click();
    await page.getByLabel("Pin to release").selectOption("1.0.0");
    await page.getByRole("button", { name: "Save pin" }).click();
    const facts = page.locator("dl.facts");
    await expect.poll(() => facts.textContent()).toMatch(/tagsnorth, shelf-2pin1\.0\.0/);
    const device = await client.request<{ tags: string[]; pin: string }>(
      "GET",
      "/projects/greenhouse/devices/greenhouse-02",
    );
    expect(device).toMatchObject({ tags: ["north", "shelf-2"], pin: "1.0.0" });
    await page.getByLabel("Pin to release").selectOption("");
    await page.getByRole("button", { name: "Save pin" }).click();
    await expect.poll(() => facts.textContent()).toMatch(/pinnone/);
  });

  it("gives a read-only session no write controls, and the server refuses its writes", async () => {
    const page = await openDashboard(viewerToken);
    await expect.poll(() => page.locator("header .who").textContent()).toBe("viewer (read-only)");
    for (const [name, absent] of [
      ["Rollouts", "Start rollout"],
      ["Releases", "Point channel at release"],
      ["Tokens", "Make token"],
    ] as const) {
      await page.getByRole("link", { name }).click();
      await page.getByRole("heading", { name, level: 1 }).waitFor();
      await page.locator("table, article, .empty").first().waitFor();
      expect(await page.getByRole("button", { name: absent }).count()).toBe(0);
    }
    await page.getByRole("link", { name: "Rollouts" }).click();
    await page.getByRole("article").first().waitFor();
    expect(await page.getByRole("button", { name: /^(Pause|Resume|Abort)$/ }).count()).toBe(0);
    await page.goto(`${server.url}/#/device/greenhouse-01`);
    await page.locator("dl.facts").waitFor();
    expect(await page.getByRole("button", { name: /Save|Revoke/ }).count()).toBe(0);
    // even sent by hand with the session's CSRF value, a write is refused
    const status = await page.evaluate(`(async () => {
      const { csrf } = await (await fetch("/api/v1/session")).json();
      const res = await fetch("/api/v1/projects/greenhouse/channels/stable", {
        method: "PUT", headers: { "content-type": "application/json", "x-mpota-csrf": csrf },
        body: JSON.stringify({ version: "1.0.0" }) });
      return res.status + " " + (await res.json()).error;
    })()`);
    expect(status).toBe('403 token "viewer" is read-only');
  });

  it("has no serious accessibility problems on any page (axe-core)", async () => {
    const signIn = await openDashboard();
    await signIn.getByLabel("Admin or read-only token").waitFor();
    const problems: Record<string, string[]> = { "sign-in": await axeProblems(signIn) };
    const page = await openDashboard(server.adminToken);
    const pages = ["fleet", "devices", "device/greenhouse-01", "releases", "rollouts", "audit", "tokens"];
    for (const path of pages) {
      await page.goto(`${server.url}/#/${path}`);
      await page.locator("main table, main article, main dl, main .empty").first().waitFor();
      problems[path] = await axeProblems(page);
    }
    expect(problems).toEqual(Object.fromEntries(["sign-in", ...pages].map((p) => [p, []])));
  });
});
