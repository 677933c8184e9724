import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonResult, runCli, type CliResult } from "../support/cli.js";
import { createTestSchema, plantedPasswordUser, type TestSchema } from "../support/database.js";
import { startOpenAIServer, type OpenAIServer } from "../support/openai_server.js";
import { scenario } from "./tally.js";

// A planted OpenAI key and database password must appear in no checkpoint, log line, --json
// output or error message, even when a provider echoes the key back in its errors.

const API_KEY = "sk-planted-secret-0c7d2e9a41";
const DB_PASSWORD = "pw-planted-secret-58f3b1";
const TASK = "Compare CDN providers for a video platform";

let db: TestSchema;
let client: pg.Client;
let server: OpenAIServer;
let planted: Awaited<ReturnType<typeof plantedPasswordUser>>;

beforeAll(async () => {
  db = await createTestSchema();
  planted = await plantedPasswordUser(DB_PASSWORD, db.schema);
  client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  server = await startOpenAIServer();
});
afterAll(async () => {
  try {
    await server?.close();
    await client?.end();
    await db?.cleanup();
  } finally {
    await planted?.drop();
  }
});

function env(): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: planted.url(),
    ORCHESTRA_DB_SCHEMA: db.schema,
    ORCHESTRA_MODEL: "openai:gpt-4o-mini",
    OPENAI_API_KEY: API_KEY,
    OPENAI_BASE_URL: server.url,
  };
}

/** A provider that quotes the caller's key when it refuses a request. */
const echoKey = (match: string) => ({
  kind: "status" as const,
  status: 401,
  message: `Incorrect API key provided: ${API_KEY}`,
  match,
});

/** Rows of this file's checkpoint tables, blobs included, that contain `secret`. */
async function checkpointRowsWith(secret: string): Promise<Record<string, number>> {
  const s = `"${db.schema}"`;
  const { rows } = await client.query(
    `SELECT
       (SELECT count(*) FROM ${s}.checkpoints WHERE checkpoint::text LIKE '%' || $1 || '%' OR metadata::text LIKE '%' || $1 || '%')::int AS checkpoints,
       (SELECT count(*) FROM ${s}.checkpoint_blobs WHERE position(convert_to($1, 'UTF8') IN blob) > 0)::int AS blobs,
       (SELECT count(*) FROM ${s}.checkpoint_writes WHERE position(convert_to($1, 'UTF8') IN blob) > 0)::int AS writes`,
    [secret],
  );
  return rows[0];
}

const output = (result: CliResult) => result.stdout + result.stderr;

describe("planted secrets", () => {
  it("appear in no checkpoint, log line, --json output or error message", () =>
    scenario("secrets", "planted OpenAI key and database password, key echoed by the provider", async (figures) => {
      // A branch refused with the key echoed: the branch fails and the run completes.
      server.faults.push(echoKey("Branch b2-research-market (attempt"));
      const completed = await runCli(
        ["run", TASK, "--thread", "secrets-completed", "--review", "never", "--json"],
        env(),
      );
      if (completed.code === 0) figures.recovered = 1;
      expect(completed.code, completed.stderr).toBe(0);
      expect(jsonResult(completed).status).toBe("completed");

      // The judge refused with the key echoed: outside the branches, so the run fails with it.
      server.faults.push(echoKey('"name":"quality_judgement"'));
      const failed = await runCli(["run", TASK, "--thread", "secrets-failed", "--review", "never", "--json"], env());
      figures.faults = server.requests.filter((r) => r.fault === "status").length;
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/^orchestra: .*401 Incorrect API key provided: \*\*\*/m);

      // The secrets were in play: the key went to the server, which echoed it twice.
      expect(server.requests.every((r) => r.headers.authorization === `Bearer ${API_KEY}`)).toBe(true);
      expect(server.faults).toEqual([]);
      expect(server.requests.filter((r) => r.fault === "status")).toHaveLength(2);

      const places = { completed: output(completed), failed: output(failed) };
      const found: string[] = [];
      for (const secret of [API_KEY, DB_PASSWORD]) {
        for (const [name, text] of Object.entries(places))
          if (text.includes(secret)) found.push(`${secret} in ${name} output`);
        for (const [table, n] of Object.entries(await checkpointRowsWith(secret)))
          if (n > 0) found.push(`${secret} in ${n} ${table} rows`);
      }
      expect(found).toEqual([]);
      // The echoed refusals did land in the checkpoints, masked: the grep looked where they are.
      expect((await checkpointRowsWith("Incorrect API key provided: ***")).writes).toBeGreaterThan(0);
    }));
});
