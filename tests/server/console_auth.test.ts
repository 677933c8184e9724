import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { startIdentityProvider, tokenAuthEnv, type TestIdentityProvider } from "../support/identity_provider.js";
import { startServer, type ServerProcess } from "./support.js";

// The console with token auth on: it asks who you are, sends the token, and lists only the
// threads that user owns.

const CHROMIUM = "/usr/bin/chromium";
let db: TestSchema;
let idp: TestIdentityProvider;
let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  idp = await startIdentityProvider({ alice: [], bob: [] });
  db = await createTestSchema();
  server = await startServer(db.schema, tokenAuthEnv(idp));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.stop();
  await db?.cleanup();
});

async function createThread(token: string): Promise<string> {
  const response = await fetch(`${server.url}/threads`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
  return ((await response.json()) as { thread_id: string }).thread_id;
}

describe("the console with token auth", () => {
  it("asks for a token, sends it, and lists only the signed-in user's threads", async () => {
    const alice = await idp.token("alice");
    const bob = await idp.token("bob");
    const alices = await createThread(alice);
    const bobs = await createThread(bob);

    const page = await browser.newPage();
    await page.goto(`${server.url}/console`);
    await page.locator("#api-key").fill(bob);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect.poll(() => page.locator(`a[href="#/thread/${bobs}"]`).count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator(`a[href="#/thread/${alices}"]`).count()).toBe(0);
    await page.close();
  }, 120_000);
});
