import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { startServer, type ServerProcess } from "./support.js";

// The console in Debian's Chromium, driven by playwright-core, against `orchestra serve` in a
// child process with an API key: log in, start a run, approve both review points, see it
// complete, open the metrics page. Screenshots go to tests/artifacts/ (not committed).

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(PROJECT_ROOT, "tests/artifacts");
const API_KEY = "console-test-key";

let db: TestSchema;
let server: ServerProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  await mkdir(ARTIFACTS, { recursive: true });
  db = await createTestSchema();
  server = await startServer(db.schema, { ORCHESTRA_API_KEY: API_KEY, ORCHESTRA_OFFLINE_LATENCY_MS: "150" });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await db?.cleanup();
});

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });

describe("the web console", () => {
  it("asks for the API key, runs a thread through both reviews to completion, and shows its metrics", async () => {
    const offline: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(server.url)) offline.push(request.url());
    });
    const unauthorized = await fetch(`${server.url}/orchestra/metrics`);
    expect(unauthorized.status).toBe(401);

    await page.goto(`${server.url}/console`);
    await page.locator("#api-key").fill(API_KEY);
    await shot("login");
    await page.getByRole("button", { name: "Continue" }).click();

    await page.locator("#new-task").fill("Choose a message broker for an event-sourced billing system");
    await page.locator("#start-run").click();

    // First review point: the sync point, with the graph drawn and the branches done.
    await page.locator("#review h2", { hasText: "sync_point_manager" }).waitFor({ timeout: 60_000 });
    expect(await page.locator('#graph [data-node="research_branch_alpha"].done').count()).toBe(1);
    await shot("review-sync");
    await page.locator("#approve").click();

    await page.locator("#review h2", { hasText: "quality_validator" }).waitFor({ timeout: 60_000 });
    await shot("review-quality");
    await page.locator("#approve").click();

    await page.locator("#run-status", { hasText: "completed" }).waitFor({ timeout: 60_000 });
    await page.locator("#report pre").waitFor();
    const report = (await page.locator("#report pre").textContent()) ?? "";
    expect(report).toMatch(/Research quality 0\.\d{3}, 95% interval 0\.\d{3}–0\.\d{3} \(3 sources\)/);
    expect(report).toMatch(/Integration confidence 0\.\d{3}/);
    expect(await page.locator("#timeline tr").count()).toBeGreaterThan(5);
    await shot("thread");

    await page.locator("nav a", { hasText: "Threads" }).click();
    await page.locator("#threads tbody tr").first().waitFor();
    expect(await page.locator("#threads tbody tr").count()).toBe(1);
    await shot("threads");

    await page.locator("nav a", { hasText: "Metrics" }).click();
    const card = page.locator('section.metrics[data-workflow="parallel_workflow"]');
    await card.waitFor({ timeout: 30_000 });
    await card.locator(".uplot").waitFor();
    expect(await card.locator("tbody tr").count()).toBeGreaterThan(5);
    await shot("metrics");
    expect(offline).toEqual([]);

    // The same figures for Prometheus, behind the same key.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const scrape = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })
    ).text();
    expect(scrape).toMatch(/orchestra_workflow_threads\{workflow="parallel_workflow",outcome="completed"\} 1/);
    expect(scrape).toMatch(
      /orchestra_step_duration_seconds\{workflow="parallel_workflow",step="task_analyzer",stat="mean"\} 0\.\d+/,
    );
  }, 240_000);

  it("answers an engine workflow's approval step with its form: reviewer, role and comment", async () => {
    await page.goto(`${server.url}/console#/threads`);
    await page.locator("#new-workflow").selectOption("enterprise:customer_service");
    await page.locator("#start-run").click();
    await page.locator("#review h2", { hasText: "Approval: quality_check" }).waitFor({ timeout: 60_000 });
    expect(await page.locator('#graph [data-node="classify_inquiry"].done').count()).toBe(1);
    expect(await page.locator("#approval-role option").allTextContents()).toEqual(["support_lead"]);
    await page.locator("#reviewer").fill("ada");
    await page.locator("#approval-comment").fill("reads well");
    await shot("approval");
    await page.locator("#approve").click();
    await page.locator("#run-status", { hasText: "COMPLETED" }).waitFor({ timeout: 60_000 });
    const audit = (await page.locator("#timeline").textContent()) ?? "";
    expect(audit).toContain("ada (support_lead)");
    await shot("approval-done");
  }, 120_000);
});
