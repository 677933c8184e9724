import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CitedFindings } from "../../state/shared/citations.js";
import { PROJECT_ROOT, spawnTracked } from "../support/cli.js";
import { createTestSchema, type TestSchema } from "../support/database.js";
import { REGISTRY_QUESTION, registryMcpFile, tempDir } from "../support/sources.js";

const TOKEN = "planted-registry-token-5b1e";

function runChild(db: TestSchema, threadId: string, mcp: string, mode: "start" | "resume", slowMs: number) {
  // Its own process group: the MCP server it starts dies with the file even after the child is SIGKILLed.
  const child = spawnTracked(
    process.execPath,
    ["--import", "tsx", "tests/support/tool_loop_child.ts", db.schema, threadId, mcp, REGISTRY_QUESTION, mode],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: db.databaseUrl, SLOW_MS: String(slowMs), REGISTRY_TOKEN: TOKEN },
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited };
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("a tool loop killed mid-way", () => {
  let db: TestSchema;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestSchema();
    pool = new pg.Pool({ connectionString: db.databaseUrl });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.cleanup();
  });

  /** Every saved checkpoint and write of the schema, as text. */
  const savedText = async () => {
    const rows = await pool.query<{ text: string }>(
      `SELECT convert_from(blob, 'UTF8') AS text FROM "${db.schema}".checkpoint_writes
       UNION ALL SELECT convert_from(blob, 'UTF8') FROM "${db.schema}".checkpoint_blobs WHERE blob IS NOT NULL
       UNION ALL SELECT checkpoint::text FROM "${db.schema}".checkpoints`,
    );
    return rows.rows.map((r) => r.text).join("\n");
  };

  it("resumes without repeating the tool calls that finished, counted at the MCP server", async () => {
    const dir = tempDir("resume");
    const log = join(dir, "calls.log");
    const mcp = registryMcpFile(dir, {
      REGISTRY_CALL_LOG: log,
      REGISTRY_SLOW_TERM: "basalt",
      REGISTRY_SLOW_MS: "${env:SLOW_MS}",
      REGISTRY_TOKEN: "${env:REGISTRY_TOKEN}",
    });
    const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);

    const first = runChild(db, "killed-loop", mcp, "start", 600_000);
    await until(() => calls().includes("start basalt"), "the second lookup to start");
    // Orchid's answer is saved before Basalt is asked for: the loop's turns are steps of their own.
    await until(
      async () => (await savedText()).includes("Project Orchid is owned"),
      "the first lookup's result to be saved",
    );
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    const second = await runChild(db, "killed-loop", mcp, "resume", 0).exited;
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(calls()).toEqual(["start orchid", "end orchid", "start basalt", "start basalt", "end basalt"]);

    const findings = JSON.parse(second.stdout) as CitedFindings;
    expect(findings.findings.flatMap((f) => f.citations.map((c) => c.quote))).toEqual([
      "Project Orchid is owned by the Platform team and is in beta since March.",
      "Project Basalt is owned by the Data team and was retired in June.",
    ]);
    // The server echoed its credential; what was saved carries it masked.
    const saved = await savedText();
    expect(saved).toContain("answered for token ***");
    expect(saved).not.toContain(TOKEN);
    expect(second.stdout).not.toContain(TOKEN);
  });
});
